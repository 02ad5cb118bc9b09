//! Adds libtorch's library folder as an rpath (see the `dmd-torch-link` crate).

fn main() {
    dmd_torch_link::link_libtorch();
}
