//! A selector's series read from storage on one thread while others decode them: reading a
//! series set (index entries of every block, the merge of blocks and head) is sequential,
//! and it took about as long as decoding the series' samples and computing their windows.
//! Once a set proves long (its first batch full), a producer thread takes the rest of it in
//! batches and hands them over a bounded queue to the decoding threads (the calling thread
//! among them); their results are put back in the set's order. A short set (a rule's, an
//! instant query's over a few series) is read and decoded on the calling thread, without
//! threads to start.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

use storage::{Series, SeriesSet, StorageError};

use super::error::EvalError;
use super::load::{Decode, MAX_THREADS, Scratch, parallelism};
use super::selectors::LoadedSeries;

/// Series per batch handed from the reading thread to the decoding ones (fewer in unit tests,
/// so that their sets of a few hundred series span many batches).
const PIPE_BATCH: usize = if cfg!(test) { 16 } else { 1024 };
/// Batches read ahead of the decoding threads (bounds the series held at once).
const QUEUE: usize = 4;
/// Series taken from storage at a time when the set is read on the calling thread (fewer in
/// unit tests, whose selectors then span several batches, each decoded on several threads).
const MAP_BATCH: usize = if cfg!(test) { 256 } else { 16_384 };

/// What the reading thread hands over.
enum Msg {
    /// The next `PIPE_BATCH` series (fewer at the end), numbered from 1 in set order.
    Batch(usize, Vec<Box<dyn Series>>),
    /// The set gave series out of label order: the caller takes another way.
    Unsorted,
    Failed(StorageError),
}

/// `f` of each series of `set` (asked for label order) that has a sample in `decode`'s
/// range, in the set's order, each decoded just before (see [`Decode::map`]): on several
/// threads when the set is long and the machine has more than one core. `Ok(None)` when `f`
/// gives `None` for a series or when the set is out of label order (the caller then loads
/// and sorts).
pub(crate) fn map_set<R: Send>(
    set: Box<dyn SeriesSet>,
    decode: &Decode<'_>,
    f: impl Fn(&LoadedSeries) -> Option<R> + Sync,
) -> Result<Option<Vec<R>>, EvalError> {
    // Besides the reading thread, as many decoding threads as cores: the reader alone takes
    // less than a core's time, so the cores are shared between it and them.
    let decoders = parallelism().min(MAX_THREADS);
    map_set_on(set, decode, &f, (decoders > 1).then_some(decoders))
}

/// [`map_set`] with the set read on its own thread and `decoders` decoding threads
/// (`None`: all on the calling thread, in batches decoded as [`Decode::map`] does).
fn map_set_on<R: Send>(
    mut set: Box<dyn SeriesSet>,
    decode: &Decode<'_>,
    f: &(impl Fn(&LoadedSeries) -> Option<R> + Sync),
    decoders: Option<usize>,
) -> Result<Option<Vec<R>>, EvalError> {
    let first = next_batch(set.as_mut(), PIPE_BATCH)?;
    if !in_order(None, &first) {
        return Ok(None);
    }
    match decoders {
        Some(n) if first.len() == PIPE_BATCH => pipelined(set, first, decode, f, n),
        _ => on_caller(set, first, decode, f),
    }
}

/// Up to `n` series of `set`.
fn next_batch(set: &mut dyn SeriesSet, n: usize) -> Result<Vec<Box<dyn Series>>, StorageError> {
    let mut batch = Vec::with_capacity(n.min(PIPE_BATCH));
    for s in set.take(n) {
        batch.push(s?);
    }
    Ok(batch)
}

/// Whether `batch` is in label order and starts at or after `last` (the previous batch's
/// last labels).
fn in_order(last: Option<&model::Labels>, batch: &[Box<dyn Series>]) -> bool {
    let after_last = match (last, batch.first()) {
        (Some(l), Some(first)) => l <= first.labels(),
        _ => true,
    };
    after_last && batch.is_sorted_by(|a, b| a.labels() <= b.labels())
}

/// The set read and decoded on the calling thread (each batch's decoding on several threads
/// when [`Decode::map`] finds it worth it), `first` being its first batch.
fn on_caller<R: Send>(
    mut set: Box<dyn SeriesSet>,
    first: Vec<Box<dyn Series>>,
    decode: &Decode<'_>,
    f: &(impl Fn(&LoadedSeries) -> Option<R> + Sync),
) -> Result<Option<Vec<R>>, EvalError> {
    let mut out = Vec::new();
    let (mut batch, mut asked) = (first, PIPE_BATCH);
    loop {
        match decode.map(&batch, f)? {
            Some(r) => out.extend(r),
            None => return Ok(None),
        }
        if batch.len() < asked {
            return Ok(Some(out));
        }
        let last = batch.last().map(|s| s.labels().clone());
        (batch, asked) = (next_batch(set.as_mut(), MAP_BATCH)?, MAP_BATCH);
        if !in_order(last.as_ref(), &batch) {
            return Ok(None);
        }
    }
}

/// The rest of `set` read on its own thread and decoded on `decoders` threads (the calling
/// one among them), `first` (a full batch) decoded by the calling thread meanwhile.
fn pipelined<R: Send>(
    set: Box<dyn SeriesSet>,
    first: Vec<Box<dyn Series>>,
    decode: &Decode<'_>,
    f: &(impl Fn(&LoadedSeries) -> Option<R> + Sync),
    decoders: usize,
) -> Result<Option<Vec<R>>, EvalError> {
    let stop = AtomicBool::new(false);
    let (tx, rx) = sync_channel(QUEUE);
    // Dropped once every decoder is done, which ends the reader if it still runs.
    let rx = Mutex::new(Some(rx));
    // Decoded batches go back to the reader, which frees them: memory is then freed by the
    // thread that allocated it (the allocator reuses it there at once).
    let (done_tx, done_rx) = channel::<Vec<Box<dyn Series>>>();
    let last = first.last().map(|s| s.labels().clone());
    std::thread::scope(|scope| {
        // Ends when the set does, or when the receiver is gone.
        scope.spawn(move || {
            let (mut set, mut last, mut n) = (set, last, 0);
            loop {
                n += 1;
                while let Ok(done) = done_rx.try_recv() {
                    drop(done);
                }
                let msg = match next_batch(set.as_mut(), PIPE_BATCH) {
                    Err(e) => Msg::Failed(e),
                    Ok(b) if b.is_empty() => return,
                    Ok(b) if !in_order(last.as_ref(), &b) => Msg::Unsorted,
                    Ok(b) => {
                        last = b.last().map(|s| s.labels().clone());
                        Msg::Batch(n, b)
                    }
                };
                let end = !matches!(&msg, Msg::Batch(_, b) if b.len() == PIPE_BATCH);
                if tx.send(msg).is_err() || end {
                    return;
                }
            }
        });
        let (rx, stop, done) = (&rx, &stop, &done_tx);
        let work = move || decode_batches(rx, decode, f, stop, done);
        let helpers: Vec<_> = (1..decoders).map(|_| scope.spawn(work)).collect();
        let mut parts = vec![(0, Vec::new())];
        let mut result =
            decode.map_share(&first, f, stop, &mut Scratch::default(), &mut parts[0].1);
        let _ = done_tx.send(first);
        if result.is_ok() {
            result = work().map(|p| parts.extend(p));
        }
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        for h in helpers {
            let part = h
                .join()
                .map_err(|_| EvalError::exec("decoding series panicked"))
                .and_then(|p| p);
            result = result.and_then(|()| part.map(|p| parts.extend(p)));
        }
        lock(rx).take();
        result?;
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        parts.sort_unstable_by_key(|(n, _)| *n);
        Ok(Some(parts.into_iter().flat_map(|(_, p)| p).collect()))
    })
}

/// The queue's receiving end, `None` once the decoders are done.
type SharedReceiver = Mutex<Option<Receiver<Msg>>>;

fn lock(rx: &SharedReceiver) -> std::sync::MutexGuard<'_, Option<Receiver<Msg>>> {
    rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Batches taken from `rx` until it ends, each decoded into its numbered part and handed to
/// `done` to be freed; stops early
/// (with `stop` set) on an unsorted set, a storage error, or `f` giving `None`.
fn decode_batches<R>(
    rx: &SharedReceiver,
    decode: &Decode<'_>,
    f: &impl Fn(&LoadedSeries) -> Option<R>,
    stop: &AtomicBool,
    done: &Sender<Vec<Box<dyn Series>>>,
) -> Result<Vec<(usize, Vec<R>)>, EvalError> {
    let mut parts = Vec::new();
    let mut scratch = Scratch::default();
    while !stop.load(Ordering::Relaxed) {
        // The lock is held only while waiting for the next batch.
        let msg = match lock(rx).as_ref() {
            Some(r) => r.recv(),
            None => break,
        };
        match msg {
            // The set ended.
            Err(_) => break,
            Ok(Msg::Batch(n, batch)) => {
                let mut out = Vec::with_capacity(batch.len());
                let decoded = decode.map_share(&batch, f, stop, &mut scratch, &mut out);
                if let Err(e) = decoded {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                parts.push((n, out));
                // Freed by the reader if it still runs, here otherwise.
                let _ = done.send(batch);
            }
            Ok(Msg::Unsorted) => stop.store(true, Ordering::Relaxed),
            Ok(Msg::Failed(e)) => {
                stop.store(true, Ordering::Relaxed);
                return Err(e.into());
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use model::{Labels, Sample};
    use storage::{ListSeries, Series, SeriesSet, StorageError, VecSeriesSet};

    use super::{Decode, PIPE_BATCH, map_set_on};
    use crate::engine::error::EvalError;
    use crate::engine::selectors::LoadedSeries;

    /// Series `i` of a set: labels `{__name__="x", i="<i>"}` (zero-padded, so label order is
    /// number order), samples at 0..5 s with values `i * t`.
    fn series(i: usize) -> Box<dyn Series> {
        let l = Labels::from_pairs([("__name__", "x".to_owned()), ("i", format!("{i:05}"))]);
        let samples = (0..5)
            .map(|t| (t * 1000, Sample::Float((i as i64 * t) as f64)))
            .collect();
        Box::new(ListSeries::new(l, samples))
    }

    fn set(order: &[usize]) -> Box<dyn SeriesSet> {
        Box::new(VecSeriesSet::new(
            order.iter().map(|&i| series(i)).collect(),
        ))
    }

    fn decode() -> Decode<'static> {
        Decode {
            mint: 0,
            maxt: 10_000,
            stats: false,
            limit: 0,
            loaded: AtomicUsize::new(0),
            cancel: None,
            deadline: None,
        }
    }

    /// What the tests compute per series: its `i` and the sum of its values.
    fn summary(s: &LoadedSeries) -> Option<(String, f64)> {
        let i = s.labels.get("i")?.to_owned();
        Some((i, s.floats.iter().map(|p| p.f).sum()))
    }

    /// Reading on the calling thread, and on a reader thread with one or three decoders.
    const WAYS: [Option<usize>; 3] = [None, Some(1), Some(3)];

    /// A set of many batches (the last one short) gives every series once, in the set's
    /// order, whichever way it is read; a set shorter than a batch too.
    #[test]
    fn a_set_read_on_its_own_thread_answers_as_one_read_on_the_caller() {
        for n in [3, PIPE_BATCH, 10 * PIPE_BATCH + 5, 40 * PIPE_BATCH] {
            let order: Vec<usize> = (0..n).collect();
            let want: Vec<(String, f64)> = order
                .iter()
                .map(|&i| (format!("{i:05}"), (i * 10) as f64))
                .collect();
            for way in WAYS {
                let got = map_set_on(set(&order), &decode(), &summary, way)
                    .unwrap()
                    .unwrap();
                assert_eq!(got, want, "{n} series, {way:?}");
            }
        }
    }

    /// A set out of label order, within a batch or across two, gives `None` (the caller then
    /// loads and sorts), as does `f` giving `None` for a series of a late batch.
    #[test]
    fn out_of_order_sets_and_refusals_give_none() {
        let n = 10 * PIPE_BATCH;
        for swap in [3, 5 * PIPE_BATCH + 2, 5 * PIPE_BATCH - 1] {
            let mut order: Vec<usize> = (0..n).collect();
            order.swap(swap, swap + 1);
            for way in WAYS {
                let got = map_set_on(set(&order), &decode(), &summary, way).unwrap();
                assert!(got.is_none(), "swap at {swap}, {way:?}");
            }
        }
        let order: Vec<usize> = (0..n).collect();
        let refuse = |s: &LoadedSeries| (s.labels.get("i") != Some("00100")).then_some(());
        for way in WAYS {
            let got = map_set_on(set(&order), &decode(), &refuse, way).unwrap();
            assert!(got.is_none(), "{way:?}");
        }
    }

    /// A storage error in a late batch is the answer, whichever way the set is read.
    #[test]
    fn a_storage_error_after_many_batches_is_returned() {
        struct Failing(std::ops::Range<usize>);
        impl Iterator for Failing {
            type Item = Result<Box<dyn Series>, StorageError>;
            fn next(&mut self) -> Option<Self::Item> {
                let i = self.0.next()?;
                Some(if i == 7 * PIPE_BATCH + 3 {
                    Err(StorageError::Closed)
                } else {
                    Ok(series(i))
                })
            }
        }
        impl SeriesSet for Failing {}
        for way in WAYS {
            let set = Box::new(Failing(0..10 * PIPE_BATCH));
            let err = map_set_on(set, &decode(), &summary, way).unwrap_err();
            assert!(matches!(err, EvalError::Storage(_)), "{way:?}: {err}");
        }
    }
}
