//! Plans a sync of SOURCE onto TARGET and prints the counts: the stand-in
//! for `trainyard sync plan` in `bench/sync.sh`.
//!
//! ```text
//! cargo run --release --example scan_pair -- SOURCE TARGET [--cache DIR] [--tsv]
//! ```
//!
//! Without `--cache` every file is read and hashed (a cold, content-exact
//! plan). With `--cache DIR`, hashes are remembered in `DIR/hashes.bin`
//! and reused for files whose size, mtime, inode and ctime are unchanged
//! (a cached re-plan). `--tsv` prints the plan as `add|modify|delete<TAB>path`
//! lines, the format of gen-tree.py's `expected.tsv`, instead of the counts.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use trainyard_core::sync::diff::Counts;
use trainyard_core::sync::model::ChangeKind;
use trainyard_core::sync::snapshot::changes;
use trainyard_core::sync::tree::{Filters, HashCache, ScanReport, scan};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scan_pair: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let mut roots = Vec::new();
    let mut cache_dir = None;
    let mut tsv = false;
    while let Some(arg) = args.next() {
        if arg == "--cache" {
            cache_dir = Some(PathBuf::from(
                args.next().ok_or("--cache needs a directory")?,
            ));
        } else if arg == "--tsv" {
            tsv = true;
        } else {
            roots.push(PathBuf::from(arg));
        }
    }
    let [source, target] = roots.as_slice() else {
        return Err("usage: scan_pair SOURCE TARGET [--cache DIR] [--tsv]".into());
    };
    let started = Instant::now();
    let cache_file = cache_dir.map(|dir| dir.join("hashes.bin"));
    let mut cache = cache_file.as_deref().map(HashCache::load);
    if let Some(reason) = cache.as_ref().and_then(HashCache::ignored_reason) {
        eprintln!("scan_pair: {reason}");
    }
    let loaded = started.elapsed();
    let filters = Filters::default();
    let source_scan = scan(source, &filters, cache.as_mut())?;
    let source_done = started.elapsed();
    let target_scan = scan(target, &filters, cache.as_mut())?;
    let target_done = started.elapsed();
    let plan: Vec<_> = changes(&source_scan.snapshot, &target_scan.snapshot).collect();
    let compared = started.elapsed();
    if let (Some(cache), Some(file)) = (&cache, &cache_file)
        && cache.is_changed()
    {
        cache.save(file)?;
    }
    let saved = started.elapsed();
    let mut out = std::io::stdout().lock();
    if tsv {
        for change in &plan {
            let kind = match change.kind {
                ChangeKind::Add => "add",
                ChangeKind::Modify => "modify",
                ChangeKind::Delete => "delete",
            };
            out.write_all(kind.as_bytes())?;
            out.write_all(b"\t")?;
            out.write_all(&change.path.0)?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    let counts = Counts::of(&plan);
    writeln!(
        out,
        "files_to_add: {}\nfiles_to_modify: {}\nfiles_to_delete: {}\ntotal_changes: {}",
        counts.files_to_add, counts.files_to_modify, counts.files_to_delete, counts.total_changes
    )?;
    let side = |name: &str, r: &ScanReport| {
        format!(
            "{name}: {} entries, {} files hashed ({} bytes), {} from cache, {} warnings",
            r.snapshot.len(),
            r.files_hashed,
            r.bytes_hashed,
            r.files_from_cache,
            r.warnings.len()
        )
    };
    eprintln!("{}", side("source", &source_scan));
    eprintln!("{}", side("target", &target_scan));
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "planned in {:.0} ms: cache load {:.0}, source {:.0}, target {:.0}, compare {:.0}, cache save {:.0}",
        ms(saved),
        ms(loaded),
        ms(source_done - loaded),
        ms(target_done - source_done),
        ms(compared - target_done),
        ms(saved - compared)
    );
    out.flush()?;
    // The trees are no longer needed: leave without freeing them one by one.
    std::process::exit(0)
}
