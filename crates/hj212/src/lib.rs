//! HJ 212 codec.
