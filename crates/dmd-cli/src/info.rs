//! `dmd info`: what libtorch this binary links and which devices it sees.

use dmd_nets::device::DeviceChoice;

/// Prints the device `auto` resolves to, CUDA availability and the intra-op thread count.
pub fn run() -> anyhow::Result<()> {
    let device = DeviceChoice::Auto.resolve()?;
    println!("dmd {}", env!("CARGO_PKG_VERSION"));
    println!("libtorch: linked (tch 0.26.0, libtorch 2.13.0)");
    println!("cuda available: {}", tch::Cuda::is_available());
    println!("cuda devices: {}", tch::Cuda::device_count());
    println!("auto device: {device:?}");
    println!("threads: {}", tch::get_num_threads());
    Ok(())
}
