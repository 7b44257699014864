//! HJ 212 (HJ/T 212-2005, HJ 212-2017, HJ 212-2025) codec. Sans-IO: no sockets, no clock.
//!
//! * [`Decoder`]: stream decoder (framing, CRC, strict/lenient modes, deviations).
//! * [`Packet`]: the parsed data segment (header fields, CP groups/items/values).
//! * [`encode`] / [`PacketBuilder`]: byte-exact frames.
//! * [`reply`]: 9011/9012/9013/9014 answers; [`commands`]: platform → field requests.
//! * [`Reassembler`]: split packets (PNUM/PNO).
//! * [`crc16`] (the standard's CRC) and [`crc16_modbus`].
//!
//! See `docs/hj212.md` for the protocol notes and the deviation names.

pub mod codes;
pub mod commands;
mod crc;
mod decoder;
mod deviation;
mod encode;
mod packet;
mod reassembly;
pub mod reply;

pub use codes::{
    data_flag_cn, CommandCode, Direction, ExeRtn, QnRtn, Version, COMMAND_CODES, DATA_FLAGS,
};
pub use crc::{crc16, crc16_bitwise, crc16_modbus, crc_hex, parse_crc_hex};
pub use decoder::{
    decode_all, Decoder, DecoderConfig, ErrorKind, Frame, FrameError, Mode, MAX_FRAME, MAX_SEGMENT,
    STD_MAX_SEGMENT,
};
pub use deviation::{Deviation, DeviationSet};
pub use encode::{encode, encode_segment_into, try_encode, EncodeError, QnGenerator, Timestamp};
pub use packet::{
    BuildError, Group, Groups, ItemRef, Packet, PacketBuilder, ParseError, Value,
    MAX_PACKET_SEGMENT,
};
pub use reassembly::{DropReason, Expired, Reassembler, ReassemblerConfig, ReassemblyStats};
