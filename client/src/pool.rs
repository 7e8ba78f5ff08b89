//! One connection per broker id, made on first use and remade after a
//! failure with exponential backoff and jitter.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::backoff_with_jitter;
use crate::broker::connection::ConnectionOptions;
use crate::broker::handshake::establish_with;
use crate::broker::BrokerConnection;
use crate::config::{BrokerAddress, ClientConfig};
use crate::error::{BrokerRef, ConnectFailure, Error, ErrorKind, Result};
use crate::transport::{Connector, Resolve};

#[derive(Default)]
struct Slot {
    connection: Option<BrokerConnection>,
    address: Option<BrokerAddress>,
    failures: u32,
    retry_at: Option<Instant>,
}

/// The connections of one client.
pub(crate) struct Pool {
    connector: Arc<dyn Connector>,
    resolver: Arc<dyn Resolve>,
    options: ConnectionOptions,
    setup_timeout: Duration,
    setup_timeout_max: Duration,
    backoff: Duration,
    backoff_max: Duration,
    slots: Mutex<HashMap<i32, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl Pool {
    pub(crate) fn new(
        config: &ClientConfig,
        options: ConnectionOptions,
        connector: Arc<dyn Connector>,
        resolver: Arc<dyn Resolve>,
    ) -> Self {
        Pool {
            connector,
            resolver,
            options,
            setup_timeout: config.connection_setup_timeout(),
            setup_timeout_max: config.connection_setup_timeout_max(),
            backoff: config.reconnect_backoff(),
            backoff_max: config.reconnect_backoff_max(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, id: i32) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(slots.entry(id).or_default())
    }

    /// A live connection to broker `id` at `address`, connecting (after the
    /// reconnect backoff, if the last try failed) when there is none.
    pub(crate) async fn get(&self, id: i32, address: &BrokerAddress) -> Result<BrokerConnection> {
        let slot = self.slot(id);
        let mut slot = slot.lock().await;
        if let Some(conn) = &slot.connection {
            if !conn.is_closed() && slot.address.as_ref() == Some(address) {
                return Ok(conn.clone());
            }
        }
        slot.connection = None;
        if slot.address.as_ref() != Some(address) {
            // A moved broker is a new broker: no backoff carried over.
            slot.failures = 0;
            slot.retry_at = None;
        }
        if let Some(at) = slot.retry_at {
            tokio::time::sleep_until(at).await;
        }
        // The connect timeout grows with failures, as Java's does.
        let timeout = backoff_with_jitter(
            self.setup_timeout,
            self.setup_timeout_max,
            slot.failures + 1,
        );
        match connect(
            &*self.connector,
            &*self.resolver,
            Some(id),
            address,
            &self.options,
            timeout,
        )
        .await
        {
            Ok(conn) => {
                slot.connection = Some(conn.clone());
                slot.address = Some(address.clone());
                slot.failures = 0;
                slot.retry_at = None;
                Ok(conn)
            }
            Err(e) => {
                slot.address = Some(address.clone());
                slot.failures = slot.failures.saturating_add(1);
                slot.retry_at = Some(
                    Instant::now()
                        + backoff_with_jitter(self.backoff, self.backoff_max, slot.failures),
                );
                Err(e)
            }
        }
    }

    /// Puts an already established connection (the bootstrap one) in the pool.
    pub(crate) async fn adopt(&self, id: i32, address: BrokerAddress, conn: BrokerConnection) {
        let slot = self.slot(id);
        let mut slot = slot.lock().await;
        slot.connection = Some(conn);
        slot.address = Some(address);
        slot.failures = 0;
        slot.retry_at = None;
    }

    /// Any live connection, without connecting.
    pub(crate) fn any_live(&self) -> Option<BrokerConnection> {
        let slots: Vec<_> = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        slots.iter().find_map(|slot| {
            let slot = slot.try_lock().ok()?;
            slot.connection.as_ref().filter(|c| !c.is_closed()).cloned()
        })
    }

    /// How host names are resolved.
    pub(crate) fn resolver(&self) -> &dyn Resolve {
        &*self.resolver
    }

    /// How connections are opened.
    pub(crate) fn connector(&self) -> &dyn Connector {
        &*self.connector
    }

    /// The settings new connections get.
    pub(crate) fn options(&self) -> &ConnectionOptions {
        &self.options
    }

    /// Closes every connection cleanly.
    pub(crate) async fn close_all(&self) {
        let slots: Vec<_> = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, s)| s)
            .collect();
        for slot in slots {
            let conn = slot.lock().await.connection.take();
            if let Some(conn) = conn {
                conn.close().await;
            }
        }
    }
}

/// The settings of the client's connections, with the SASL exchange
/// (and its token provider) built once for all of them.
pub(crate) fn connection_options(config: &ClientConfig) -> Result<ConnectionOptions> {
    Ok(ConnectionOptions {
        client_id: Arc::from(config.client_id()),
        request_timeout: config.request_timeout(),
        max_in_flight: config.max_in_flight(),
        max_idle: config.connections_max_idle(),
        hooks: config.hooks().clone(),
        sasl: crate::security::sasl_auth(config)?.map(Arc::new),
    })
}

/// Resolves `address` and connects to the first resolved address that
/// works, within `timeout` per address.
pub(crate) async fn connect(
    connector: &dyn Connector,
    resolver: &dyn Resolve,
    id: Option<i32>,
    address: &BrokerAddress,
    options: &ConnectionOptions,
    timeout: Duration,
) -> Result<BrokerConnection> {
    let fail = |failure: ConnectFailure| {
        Error::new(ErrorKind::Connect {
            address: address.to_string(),
            failure,
        })
        .with_broker(BrokerRef {
            id,
            address: address.to_string(),
        })
    };
    let resolved = resolve(resolver, address).await.map_err(fail)?;
    let mut last = ConnectFailure::Dns("no addresses".to_owned());
    for addr in resolved {
        match connect_addr(connector, id, address, addr, options, timeout).await {
            Ok(conn) => return Ok(conn),
            Err(failure) => last = failure,
        }
    }
    Err(fail(last))
}

pub(crate) async fn resolve(
    resolver: &dyn Resolve,
    address: &BrokerAddress,
) -> Result<Vec<SocketAddr>, ConnectFailure> {
    let host = address.host.as_str();
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, address.port)]);
    }
    let addrs = resolver
        .resolve(host, address.port)
        .await
        .map_err(|e| ConnectFailure::Dns(format!("{host}: {e}")))?;
    if addrs.is_empty() {
        return Err(ConnectFailure::Dns(format!("{host} has no addresses")));
    }
    Ok(addrs)
}

pub(crate) async fn connect_addr(
    connector: &dyn Connector,
    id: Option<i32>,
    address: &BrokerAddress,
    addr: SocketAddr,
    options: &ConnectionOptions,
    timeout: Duration,
) -> Result<BrokerConnection, ConnectFailure> {
    let broker = BrokerRef {
        id,
        address: address.to_string(),
    };
    let started = tokio::time::Instant::now();
    let established =
        establish_with(connector, addr, &address.host, options, &broker, timeout).await?;
    let connection = BrokerConnection::spawn(established, broker, options.clone());
    let setup = started.elapsed();
    options.hooks.each(|h| {
        h.on_broker_connect(&crate::hooks::BrokerConnected {
            broker: connection.broker(),
            addr,
            setup,
        })
    });
    Ok(connection)
}
