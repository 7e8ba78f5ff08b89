//! Tests of the sink: options, column checks, the producer cache (on
//! virtual time), and writes against the in-process fake cluster.

#[cfg(feature = "arrow")]
mod arrow;
mod columns;
mod options;
mod pool;
mod query;
mod writes;

use futures::TryStreamExt;

use super::{SinkOptions, SinkSettings};
use crate::batch::BatchSource;
use crate::options::SourceOptions;
use crate::Row;

const SECRET: &str = "s3cr3t-VALUE";

/// Settings for `bootstrap` plus `extra`.
fn settings(bootstrap: &str, extra: &[(&str, &str)]) -> SinkSettings {
    let mut options = SinkOptions::from_pairs([("kafka.bootstrap.servers", bootstrap)]);
    for (key, value) in extra {
        options.set(*key, *value);
    }
    options
        .settings()
        .unwrap_or_else(|e| panic!("{extra:?}: {e}"))
}

/// Every row of `topic` (with headers), by partition and offset.
async fn read_back(bootstrap: &str, topic: &str) -> Vec<Row> {
    let options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", bootstrap),
        ("subscribe", topic),
        ("includeHeaders", "true"),
    ]);
    let source = BatchSource::connect(options.batch().unwrap())
        .await
        .unwrap();
    let mut rows: Vec<Row> = source.rows().await.unwrap().try_collect().await.unwrap();
    rows.sort_by_key(|row| (row.partition(), row.offset()));
    rows
}
