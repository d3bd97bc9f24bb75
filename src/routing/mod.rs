//! Routing strategies shared by the socket types: each is a small unit
//! over pipe ends, tested on its own.

pub(crate) mod active;
pub(crate) mod fq;
pub(crate) mod lb;
pub(crate) mod peers;
pub(crate) mod trie;
