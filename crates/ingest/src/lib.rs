//! Intake: the HJ 212 TCP gateway, MQTT intake, device registry, ack-after-commit and the
//! batching writer.
//!
//! Data flow: socket or MQTT message → [`hj212::Decoder`] → [`Gateway::intake`] (authenticate
//! against the [`Registry`], the same for every transport) → [`WriterHandle`] (bounded queue)
//! → one writer thread, group commit into the [`store::Store`] → the 9014 answer goes out on
//! the connection (or the reply topic, with the broker's PUBACK) once its packet is durable.
//!
//! Scaled out, [`bus`] puts a NATS JetStream stream between the two: gateways publish, writers
//! on any node consume and commit (the 9014 then waits for the stream's PubAck).

pub mod bus;
pub mod convert;
pub mod gateway;
pub mod metrics;
pub mod mqtt;
pub mod registry;
pub mod writer;

pub use gateway::{CommandError, Gateway, GatewayConfig, SentCommand};
pub use metrics::{refusal_label_cn, DeviceRefusals, Metrics};
pub use mqtt::{MqttConfig, ReplyTopic};
pub use registry::{Registered, Registry};
pub use writer::{spawn_writer, CatchUp, CommitObserver, Derivation, WriterConfig, WriterHandle};
