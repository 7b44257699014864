//! National standards.
