//! A [`KafkaSink`] as a streaming query's batch handler:
//! `StreamingQuery::builder(..).start(sink)` (Spark's
//! `df.writeStream.format("kafka")`).

use futures::future::BoxFuture;
use futures::FutureExt;

use super::writer::KafkaSink;
use crate::query::{BatchHandler, HandlerError, MicroBatch};

/// Each micro-batch's rows are written with
/// [`write_micro_batch`](KafkaSink::write_micro_batch); the query commits
/// the batch once every row is acknowledged, and stops with the sink's
/// error otherwise. A batch run again after a restart is written again
/// (at-least-once).
impl BatchHandler for KafkaSink {
    fn handle(&mut self, batch: MicroBatch) -> BoxFuture<'static, Result<(), HandlerError>> {
        let sink = self.clone();
        async move {
            let batch_id = batch.batch_id();
            sink.write_micro_batch(batch_id, batch.into_rows()).await?;
            Ok(())
        }
        .boxed()
    }
}
