//! Proves that libtorch is linked and usable: a tiny forward/backward pass on the CPU, and
//! the `auto` device choice agreeing with what libtorch reports about CUDA.

use dmd_nets::device::DeviceChoice;
use tch::{Device, Kind, Tensor, nn, nn::Module, nn::OptimizerConfig};

#[test]
fn forward_backward_step_reduces_a_quadratic_loss() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let lin = nn::linear(vs.root() / "lin", 3, 1, Default::default());
    let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
    let x = Tensor::randn([64, 3], (Kind::Float, Device::Cpu));
    let target = x.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
    let loss_of = |lin: &nn::Linear| (lin.forward(&x) - &target).square().mean(Kind::Float);
    let before = loss_of(&lin).double_value(&[]);
    for _ in 0..50 {
        let loss = loss_of(&lin);
        opt.backward_step(&loss);
    }
    let after = loss_of(&lin).double_value(&[]);
    assert!(before.is_finite() && after.is_finite());
    assert!(
        after < 0.01 * before,
        "loss did not fall: {before} -> {after}"
    );
}

#[test]
fn auto_device_matches_libtorch_cuda_availability() {
    let auto = DeviceChoice::Auto.resolve().unwrap();
    if tch::Cuda::is_available() {
        assert_eq!(auto, Device::Cuda(0));
        assert!(DeviceChoice::Cuda.resolve().is_ok());
    } else {
        assert_eq!(auto, Device::Cpu);
        assert!(DeviceChoice::Cuda.resolve().is_err());
    }
    assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
}
