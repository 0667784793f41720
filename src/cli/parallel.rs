//! Work spread over the cores, each worker taking the next item as it
//! finishes one, so a slow item does not leave a core idle; the results
//! keep the items' order. [`map`] returns them all (the calling thread is
//! one of its workers); [`in_order`] hands each on as soon as it and those
//! before it are done, while its workers go on with the next items.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

/// One worker per core, and no more than there are items (at least one).
/// A single item needs no count of the cores, which reads the cgroup files.
fn workers_for(items: usize) -> usize {
    if items <= 1 {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items)
}

/// `f(item)`, or `None` if it panicked: a panic loses only its own item.
fn attempt<T, R>(f: &impl Fn(&T) -> R, item: &T) -> Option<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item))).ok()
}

/// `f` applied to every item, in order; `None` for an item whose `f`
/// panicked (the other items are still done).
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    let workers = workers_for(items.len());
    let next = AtomicUsize::new(0);
    let work = || -> Vec<(usize, R)> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.extend(attempt(&f, item).map(|r| (i, r)));
        }
    };
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut place = |done: Vec<(usize, R)>| {
            for (i, r) in done {
                results[i] = Some(r);
            }
        };
        place(work());
        for handle in handles {
            if let Ok(done) = handle.join() {
                place(done);
            }
        }
    });
    results
}

/// `f` applied to every item by one worker per core for the whole run, and
/// each result handed to `consume` on the calling thread in the items'
/// order as soon as it and every one before it are done (`None` for an
/// item whose `f` panicked). No worker starts an item more than `window`
/// places ahead of the last one consumed, which bounds the results held.
/// When `consume` breaks, no item is started after the ones under way.
pub fn in_order<T: Sync, R: Send>(
    items: &[T],
    window: usize,
    f: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(usize, Option<R>) -> ControlFlow<()>,
) {
    // A window of none would let no item start.
    let window = window.max(1);
    let workers = workers_for(items.len());
    let next = AtomicUsize::new(0);
    let gate = Gate::default();
    let (sender, results) = mpsc::channel::<(usize, Option<R>)>();
    std::thread::scope(|scope| {
        // However this ends (a break or a panic in `consume`, or no worker
        // thread at all), the workers waiting at the gate are released.
        let _release = Release(&gate);
        let mut started = 0;
        for _ in 0..workers {
            let sender = sender.clone();
            let (next, gate, f) = (&next, &gate, &f);
            let spawned = std::thread::Builder::new()
                .name("podiam-worker".into())
                .spawn_scoped(scope, move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= items.len() || !gate.wait_for(i, window) {
                            return;
                        }
                        if sender.send((i, attempt(f, &items[i]))).is_err() {
                            return;
                        }
                    }
                });
            started += usize::from(spawned.is_ok());
        }
        drop(sender);
        if started == 0 {
            // No thread could start: the calling thread does the work.
            for (i, item) in items.iter().enumerate() {
                if consume(i, attempt(&f, item)).is_break() {
                    return;
                }
            }
            return;
        }
        let mut waiting: BTreeMap<usize, Option<R>> = BTreeMap::new();
        let mut expected = 0;
        for (i, result) in results.iter() {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&expected) {
                if consume(expected, result).is_break() {
                    return;
                }
                expected += 1;
                gate.advance(expected);
            }
        }
    });
}

/// How far [`in_order`] has consumed, and whether it stopped; workers wait
/// here while they are a window ahead.
#[derive(Default)]
struct Gate {
    state: Mutex<(usize, bool)>,
    moved: Condvar,
}

impl Gate {
    /// Waits until item `i` is within `window` of the consumed ones; false
    /// once the consumer has stopped.
    fn wait_for(&self, i: usize, window: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while !state.1 && i >= state.0.saturating_add(window) {
            state = self
                .moved
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        !state.1
    }

    /// Records that `consumed` items are done.
    fn advance(&self, consumed: usize) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0 = consumed;
        self.moved.notify_all();
    }
}

/// Tells the workers at the gate that the consumer has stopped, when it
/// goes out of scope.
struct Release<'a>(&'a Gate);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1 = true;
        self.0.moved.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_per_core_and_never_more_than_the_items() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(workers_for(0), 1);
        assert_eq!(workers_for(1), 1);
        for items in [2, 3, 1000] {
            assert_eq!(workers_for(items), cores.min(items), "{items} items");
        }
    }

    #[test]
    fn results_keep_the_items_order_and_a_panic_is_none() {
        let items: Vec<u32> = (0..101).collect();
        let doubled = map(&items, |i| i * 2);
        assert_eq!(
            doubled.into_iter().flatten().collect::<Vec<_>>(),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(map(&[] as &[u32], |i| *i).is_empty());
        let boom = 57;
        let results = map(&items, |i| {
            assert!(*i != boom, "boom");
            *i
        });
        assert_eq!(results.len(), items.len());
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(r.is_none(), i as u32 == boom, "item {i}");
        }
    }

    #[test]
    fn in_order_hands_on_every_result_in_order_within_the_window() {
        let items: Vec<usize> = (0..300).collect();
        let consumed = AtomicUsize::new(0);
        let window = 4;
        let mut seen = Vec::new();
        let calls: Vec<AtomicUsize> = items.iter().map(|_| AtomicUsize::new(0)).collect();
        let caller = std::thread::current().id();
        let on_caller = AtomicUsize::new(0);
        in_order(
            &items,
            window,
            |i| {
                calls[*i].fetch_add(1, Ordering::SeqCst);
                if std::thread::current().id() == caller {
                    on_caller.fetch_add(1, Ordering::SeqCst);
                }
                assert!(
                    *i < consumed.load(Ordering::SeqCst) + window,
                    "item {i} started too early"
                );
                assert!(*i != 77, "boom");
                *i * 3
            },
            |i, r| {
                seen.push((i, r));
                consumed.store(i + 1, Ordering::SeqCst);
                ControlFlow::Continue(())
            },
        );
        let expected: Vec<(usize, Option<usize>)> = items
            .iter()
            .map(|i| (*i, (*i != 77).then_some(*i * 3)))
            .collect();
        assert_eq!(seen, expected);
        assert!(
            calls.iter().all(|c| c.load(Ordering::SeqCst) == 1),
            "each item is done once"
        );
        assert_eq!(
            on_caller.load(Ordering::SeqCst),
            0,
            "the workers do the work, not the caller"
        );
        let mut handed = 0;
        in_order(
            &items[..5],
            0,
            |i| *i,
            |_, _| {
                handed += 1;
                ControlFlow::Continue(())
            },
        );
        assert_eq!(handed, 5, "a window of 0 still lets every item through");
    }

    #[test]
    fn in_order_stops_when_the_consumer_breaks_or_panics() {
        let items: Vec<usize> = (0..1000).collect();
        let started = AtomicUsize::new(0);
        let mut seen = Vec::new();
        in_order(
            &items,
            8,
            |i| {
                started.fetch_add(1, Ordering::SeqCst);
                *i
            },
            |i, _| {
                seen.push(i);
                if i == 20 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(seen, (0..=20).collect::<Vec<_>>());
        assert!(started.load(Ordering::SeqCst) <= 21 + 8, "{started:?}");
        let panicked = std::panic::catch_unwind(|| {
            in_order(
                &items,
                8,
                |i| *i,
                |i, _| {
                    assert!(i != 5, "consumer boom");
                    ControlFlow::Continue(())
                },
            )
        });
        assert!(panicked.is_err());
    }
}
