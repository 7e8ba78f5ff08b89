//! What a handler gets per micro-batch ([`MicroBatch`]) and what a handler
//! is ([`BatchHandler`]).

use std::future::Future;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::error::HandlerError;
use crate::planner::{DataLoss, OffsetRange, PartitionOffsets};
use crate::reader::Rows;

/// One micro-batch: its id, its offsets and ranges, and its rows.
///
/// The rows are read as the handler takes them ([`rows`](Self::rows)), one
/// task per range, as a batch query reads ([`Rows`]). A read error comes
/// out of the stream; whatever the handler then returns, the batch is not
/// committed and the query stops with that error.
pub struct MicroBatch {
    pub(crate) batch_id: u64,
    pub(crate) start: PartitionOffsets,
    pub(crate) end: PartitionOffsets,
    pub(crate) ranges: Vec<OffsetRange>,
    pub(crate) rerun: bool,
    pub(crate) data_loss: Vec<DataLoss>,
    pub(crate) rows: Rows,
}

impl std::fmt::Debug for MicroBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicroBatch")
            .field("batch_id", &self.batch_id)
            .field("start", &self.start.to_json())
            .field("end", &self.end.to_json())
            .field("ranges", &self.ranges.len())
            .field("rerun", &self.rerun)
            .field("data_loss", &self.data_loss.len())
            .finish_non_exhaustive()
    }
}

impl MicroBatch {
    /// The batch's id: 0, 1, 2, … across restarts (the `offsets/<id>` and
    /// `commits/<id>` checkpoint files). A re-run batch has its first
    /// run's id.
    pub fn batch_id(&self) -> u64 {
        self.batch_id
    }

    /// Where the batch starts, per partition (the previous batch's end, or
    /// the initial offsets).
    pub fn start(&self) -> &PartitionOffsets {
        &self.start
    }

    /// Where it ends (exclusive), per partition: the offsets it commits.
    pub fn end(&self) -> &PartitionOffsets {
        &self.end
    }

    /// The ranges read, one task each (after `minPartitions` and
    /// `maxRecordsPerPartition` splitting).
    pub fn ranges(&self) -> &[OffsetRange] {
        &self.ranges
    }

    /// Whether this batch runs again: it was logged but not committed by
    /// an earlier run, which may have handled some or all of its rows.
    /// It covers exactly the same offsets as then.
    pub fn is_rerun(&self) -> bool {
        self.rerun
    }

    /// The possible data losses noticed while planning this batch, which
    /// it goes on despite (`failOnDataLoss=false`); those noticed while
    /// reading are counted in [`Rows::metrics`].
    pub fn data_loss(&self) -> &[DataLoss] {
        &self.data_loss
    }

    /// The batch's rows, read as they are taken.
    pub fn rows(&mut self) -> &mut Rows {
        &mut self.rows
    }

    /// The batch's rows, owned.
    pub fn into_rows(self) -> Rows {
        self.rows
    }

    /// The batch's rows as Arrow record batches with Spark's schema
    /// (feature `arrow`).
    #[cfg(feature = "arrow")]
    pub fn into_record_batches(
        self,
        options: crate::arrow::ArrowOptions,
    ) -> crate::arrow::RecordBatches {
        crate::arrow::RecordBatches::new(self.rows, options)
    }
}

/// What a query calls with each micro-batch (Spark's `foreachBatch`).
///
/// `Ok` commits the batch (`commits/<id>`), whether or not the handler
/// took every row; an error stops the query with
/// [`QueryError::Handler`](super::QueryError::Handler), the batch
/// uncommitted, so a restarted query runs it again with the same offsets.
/// A batch can therefore be handled more than once (at-least-once): make
/// the handler's effects idempotent per batch id, or tolerate repeats.
///
/// Any `FnMut(MicroBatch) -> impl Future<Output = Result<(), E>>` is a
/// handler, `E` being any error.
pub trait BatchHandler: Send + 'static {
    /// Handles one micro-batch.
    fn handle(&mut self, batch: MicroBatch) -> BoxFuture<'static, Result<(), HandlerError>>;
}

impl<F, Fut, E> BatchHandler for F
where
    F: FnMut(MicroBatch) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<HandlerError>,
{
    fn handle(&mut self, batch: MicroBatch) -> BoxFuture<'static, Result<(), HandlerError>> {
        let handled = self(batch);
        async move { handled.await.map_err(Into::into) }.boxed()
    }
}
