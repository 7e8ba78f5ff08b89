//! The connection section: finding the cluster, connections, metadata,
//! timeouts and retries. Every client needs it.

use std::time::Duration;

use super::address::BrokerAddress;
use super::kinds::{Addresses, Inert, Int, Millis, Text, MAX_MS};
use super::{ClientConfig, ClientConfigBuilder};

settings! {
    /// The connection section's values.
    values ConnectionValues in Connection, keys connection_keys;
    getters on ClientConfig, via connection_values;
    setters on ClientConfigBuilder, via connection_values_mut;

    /// Comma-separated `host:port` list used to find the cluster. Required.
    BOOTSTRAP_SERVERS "bootstrap.servers" => bootstrap_servers: Addresses = "" pub(&[BrokerAddress], impl Into<String>);
    /// Sent with every request, for broker logs and quotas.
    CLIENT_ID "client.id" => client_id: Text = "ferrokafka" pub(&str, impl Into<String>);
    /// How long to wait for a response before failing the request and
    /// closing the connection.
    REQUEST_TIMEOUT_MS "request.timeout.ms" => request_timeout: Millis<1, MAX_MS> = "30000" pub(Duration);
    /// How long one TCP connect (plus handshake) may take.
    SOCKET_CONNECTION_SETUP_TIMEOUT_MS "socket.connection.setup.timeout.ms" => connection_setup_timeout: Millis<1, MAX_MS> = "10000" pub(Duration);
    /// Upper bound of the connect timeout as it grows after failures.
    SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS "socket.connection.setup.timeout.max.ms" => connection_setup_timeout_max: Millis<1, MAX_MS> = "30000" pub(Duration);
    /// ferrokafka's own: how long to keep trying `bootstrap.servers`
    /// before failing with the list of addresses tried and why each failed.
    BOOTSTRAP_TIMEOUT_MS "bootstrap.timeout.ms" => bootstrap_timeout: Millis<1, MAX_MS> = "30000" pub(Duration);
    /// Metadata older than this is refreshed before use.
    METADATA_MAX_AGE_MS "metadata.max.age.ms" => metadata_max_age: Millis<0, MAX_MS> = "300000" pub(Duration);
    /// First wait before retrying a failed request.
    RETRY_BACKOFF_MS "retry.backoff.ms" => retry_backoff: Millis<0, MAX_MS> = "100" pub(Duration);
    /// Cap of the exponential retry backoff.
    RETRY_BACKOFF_MAX_MS "retry.backoff.max.ms" => retry_backoff_max: Millis<0, MAX_MS> = "1000" pub(Duration);
    /// First wait before reconnecting to a broker.
    RECONNECT_BACKOFF_MS "reconnect.backoff.ms" => reconnect_backoff: Millis<0, MAX_MS> = "50" pub(Duration);
    /// Cap of the exponential reconnect backoff.
    RECONNECT_BACKOFF_MAX_MS "reconnect.backoff.max.ms" => reconnect_backoff_max: Millis<0, MAX_MS> = "1000" pub(Duration);
    /// Idle connections are closed after this long.
    CONNECTIONS_MAX_IDLE_MS "connections.max.idle.ms" => connections_max_idle: Millis<1, MAX_MS> = "540000" pub(Duration);
    /// Total time an admin call may take, retries included.
    DEFAULT_API_TIMEOUT_MS "default.api.timeout.ms" => default_api_timeout: Millis<1, MAX_MS> = "60000" pub(Duration);
    /// Requests sent on one connection before waiting for answers.
    MAX_IN_FLIGHT "max.in.flight.requests.per.connection" => max_in_flight: Int<usize, 1, 1000> = "5" pub(usize);
    /// Java: how host names resolve. Every address a name resolves to is
    /// tried here (Java's default `use_all_dns_ips`).
    CLIENT_DNS_LOOKUP "client.dns.lookup" => client_dns_lookup: Inert = "" inner;
    /// Java: socket send buffer size; the operating system's default is used.
    SEND_BUFFER_BYTES "send.buffer.bytes" => send_buffer_bytes: Inert = "" inner;
    /// Java: socket receive buffer size; the operating system's default is used.
    RECEIVE_BUFFER_BYTES "receive.buffer.bytes" => receive_buffer_bytes: Inert = "" inner;
    /// Java: forget topics not used for this long; metadata here is
    /// refreshed by `metadata.max.age.ms` and kept while the client lives.
    METADATA_MAX_IDLE_MS "metadata.max.idle.ms" => metadata_max_idle: Inert = "" inner;
    /// Java's JMX metrics settings; use `hooks::MetricsHooks` instead.
    METRICS_RECORDING_LEVEL "metrics.recording.level" => metrics_recording_level: Inert = "" inner;
    /// Java's JMX metrics settings; use `hooks::MetricsHooks` instead.
    METRICS_NUM_SAMPLES "metrics.num.samples" => metrics_num_samples: Inert = "" inner;
    /// Java's JMX metrics settings; use `hooks::MetricsHooks` instead.
    METRICS_SAMPLE_WINDOW_MS "metrics.sample.window.ms" => metrics_sample_window: Inert = "" inner;
    /// Java's JMX metrics settings; use `hooks::MetricsHooks` instead.
    AUTO_INCLUDE_JMX_REPORTER "auto.include.jmx.reporter" => auto_include_jmx_reporter: Inert = "" inner;
}
