//! # dmd-torch-link
//!
//! Called from the build script of every package that links libtorch (a build-dependency), so
//! the link logic has one copy.
//!
//! torch-sys passes `-rpath` only to its own static wrapper, so binaries, tests and examples
//! would not find `libtorch_cpu.so` at run time. torch-sys declares `links = "tch"`, which
//! hands its direct dependents `DEP_TCH_LIBTORCH_LIB`; we turn that into an rpath, so built
//! binaries run from any directory with no environment set.
//!
//! On a full (CUDA) install the default `--as-needed` would drop `libtorch_cuda.so` and the
//! GPU would silently be unavailable, so it is linked explicitly when its CUDA runtime
//! libraries (the `nvidia/cublas` wheel) sit beside torch.

/// Adds the libtorch rpath (and, on a CUDA install, links libtorch_cuda).
pub fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    let lib = std::path::Path::new(&lib);
    // `cargo xtask setup` rewrites this stamp when it switches between the CPU and CUDA sets.
    let stamp = lib.join("../../dmd-stamp.txt");
    if stamp.exists() {
        println!("cargo:rerun-if-changed={}", stamp.display());
    }
    let cuda_runtime = lib.join("../../nvidia/cublas");
    if lib.join("libtorch_cuda.so").exists() && cuda_runtime.exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
