//! Adds libtorch's library folder as an rpath (see `build/torch_link.rs`).
include!("../build/torch_link.rs");

fn main() {
    link_libtorch();
}
