//! What every incremental engine does with a commit: derive what it touched, then advance its
//! watermark so that a later catch-up does not redo it.

use store::{IntakePacket, Store};

/// A commit observer (the same type as `ingest::CommitObserver`).
pub type Observer = Box<dyn FnMut(&[IntakePacket]) + Send>;

/// Advances watermark `name` to the newest packet of `packets` — only once a catch-up has
/// set it: before the first catch-up, older data is not derived yet.
pub fn advance_watermark<S: Store + ?Sized>(
    store: &mut S,
    name: &str,
    packets: &[IntakePacket],
) -> crate::Result<()> {
    let newest = packets.iter().map(|p| p.received_ms).max();
    if let (Some(n), Some(w)) = (newest, store.watermark(name)?) {
        if n > w {
            store.set_watermark(name, n)?;
        }
    }
    Ok(())
}

/// An observer that runs `derive` on each committed batch (it returns whether the batch
/// touched anything of this engine) and then advances `watermark`. Errors are reported and
/// left for the next catch-up to repair.
pub fn observer<S, F>(
    engine: &'static str,
    watermark: &'static str,
    mut store: Box<S>,
    mut derive: F,
) -> Observer
where
    S: Store + ?Sized + Send + 'static,
    F: FnMut(&mut S, &[IntakePacket]) -> crate::Result<bool> + Send + 'static,
{
    Box::new(move |packets: &[IntakePacket]| {
        let r = derive(store.as_mut(), packets).and_then(|touched| {
            if touched {
                advance_watermark(store.as_mut(), watermark, packets)?;
            }
            Ok(())
        });
        if let Err(e) = r {
            eprintln!("engine: {engine} update failed: {e}");
        }
    })
}
