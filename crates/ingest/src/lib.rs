//! Intake: the HJ 212 TCP gateway, device registry, ack-after-commit and the batching writer.
//!
//! Data flow: socket → [`hj212::Decoder`] → authenticate ([`Registry`]) → [`WriterHandle`]
//! (bounded queue) → one writer thread, group commit into the [`store::Store`] → the 9014
//! answer goes out on the connection once its packet is durable.

pub mod convert;
pub mod gateway;
pub mod metrics;
pub mod registry;
pub mod writer;

pub use gateway::{CommandError, Gateway, GatewayConfig, SentCommand};
pub use metrics::{refusal_label_cn, DeviceRefusals, Metrics};
pub use registry::{Registered, Registry};
pub use writer::{spawn_writer, CatchUp, CommitObserver, Derivation, WriterConfig, WriterHandle};
