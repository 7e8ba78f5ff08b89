//! One broker: setting up a connection ([`handshake`]) and driving it
//! ([`connection`]).

pub(crate) mod connection;
pub(crate) mod handshake;

pub use connection::{BrokerConnection, KafkaResponse};

#[cfg(test)]
pub(crate) mod tests;
