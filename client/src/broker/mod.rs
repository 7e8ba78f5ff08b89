//! One broker: setting up a connection (TLS, ApiVersions, SASL) and
//! driving it with one task per connection ([`BrokerConnection`]).

pub(crate) mod connection;
mod driver;
pub(crate) mod handshake;

pub use connection::BrokerConnection;

#[cfg(test)]
pub(crate) mod tests;
