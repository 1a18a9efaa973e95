//! Four processes applying plans of two syncs that share one target, with
//! SIGKILLs at journal steps chosen by a seeded generator, and `recover`
//! between rounds: after every round the target is exactly one plan's
//! result or what it was before, a change has the `sync_log` of the plan
//! whose result it is, and the evidence verifies.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use crate::support::TestRepo;
use crate::sync_locks::{Rng, files, fill, finish, logs, open_sync, plan, stray_temps};

const ROUNDS: usize = 30;
const FILES: usize = 240;

/// Changes a few files of a source (and always one, so that every round
/// has something to apply).
fn mutate(root: &Path, rng: &mut Rng, round: usize) {
    std::fs::write(
        root.join(format!("round-{round}.txt")),
        format!("{round}\n"),
    )
    .expect("write");
    for _ in 0..6 {
        let i = rng.below(FILES as u64 + 20);
        let path = root.join(format!("d{}/e{}/f{i:04}.txt", i % 7, i % 3));
        if path.exists() && rng.below(4) == 0 {
            std::fs::remove_file(&path).expect("delete");
        } else {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, format!("{:016x} round {round}\n", rng.next())).expect("write");
        }
    }
}

/// A journal step to die at, or none.
fn crash_point(rng: &mut Rng) -> Option<String> {
    if rng.below(10) >= 3 {
        return None;
    }
    let n = 1 + rng.below(6);
    Some(match rng.below(7) {
        0 => "begin".to_owned(),
        1 => format!("stage:{n}"),
        2 => format!("staged:{n}"),
        3 => "staged_all".to_owned(),
        4 => format!("deleted:{}", 1 + rng.below(2)),
        5 => format!("renamed:{n}"),
        _ => "committed".to_owned(),
    })
}

#[test]
fn four_processes_two_syncs_one_target_random_kills() {
    let repo = TestRepo::new();
    let root = repo.path();
    fill(&root.join("src-a"), FILES, 31);
    fill(&root.join("src-b"), FILES, 32);
    fill(&root.join("dst"), FILES / 2, 33);
    repo.commit("chore: trees");
    repo.write(".trainyard/syncs/a.yaml", &open_sync("a", "src-a", "dst"));
    repo.write(".trainyard/syncs/b.yaml", &open_sync("b", "src-b", "dst"));
    let mut rng = Rng::new(0x7261_696e_7961_7264);
    let (mut kills, mut applied, mut recovered_forward) = (0, 0, 0);
    for round in 0..ROUNDS {
        // A new minute each round: new plans, apply ids and records.
        let now = format!("2027-01-13T{:02}:{:02}:00Z", 10 + round / 60, round % 60);
        let vars = [("TRAINYARD_NOW", now.as_str())];
        mutate(&root.join("src-a"), &mut rng, round);
        mutate(&root.join("src-b"), &mut rng, round);
        let before = files(&root.join("dst"));
        let result_a = files(&root.join("src-a"));
        let result_b = files(&root.join("src-b"));
        let (plan_a, diff_a) = plan(&repo, "a", &vars);
        let (plan_b, diff_b) = plan(&repo, "b", &vars);

        let mut order = [0usize, 1, 2, 3];
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        // Every fifth round from the third, whoever wins the lock dies
        // before the commit point; from the fifth, after it.
        let forced = match round % 5 {
            2 => Some("staged:1"),
            4 => Some("renamed:1"),
            _ => None,
        };
        let children: Vec<_> = order
            .iter()
            .map(|&i| {
                let plan = if i % 2 == 0 { &plan_a } else { &plan_b };
                let point = crash_point(&mut rng).filter(|_| forced.is_none());
                let point = forced.map(str::to_owned).or(point);
                let mut cmd = repo.command(&["sync", "apply", plan]);
                cmd.env("TRAINYARD_NOW", &now);
                if let Some(point) = &point {
                    cmd.env("TRAINYARD_SYNC_CRASH_AFTER", point);
                }
                (i, point, cmd.spawn().expect("apply starts"))
            })
            .collect();
        let mut successes = 0;
        for (i, point, child) in children {
            let (status, _, stderr) = finish(child);
            match (status.code(), status.signal()) {
                (Some(0), _) => successes += 1,
                // Refused: stale or single-use (2), the lock (3).
                (Some(2 | 3), _) => {}
                (None, Some(9)) if point.is_some() => kills += 1,
                other => panic!("round {round}: process {i} ({point:?}): {other:?}: {stderr}"),
            }
        }
        assert!(
            successes <= 1,
            "round {round}: {successes} applies succeeded"
        );
        applied += successes;

        for sync in ["a", "b"] {
            let run = repo.run_env(&["--json", "sync", "recover", sync], &vars);
            assert_eq!(run.code(), 0, "round {round}: {}", run.transcript());
            let report = run.json();
            for apply in report["applies"].as_array().into_iter().flatten() {
                if apply["action"] == "rolled_forward" {
                    recovered_forward += 1;
                }
            }
        }

        let target = files(&root.join("dst"));
        assert!(
            stray_temps(&root.join("dst")).is_empty(),
            "round {round}: temporary files left"
        );
        assert!(
            !root.join(".dst.trainyard-lock").exists(),
            "round {round}: a lock outlived the recovery"
        );
        let whose = if target == before {
            None
        } else if target == result_a {
            Some(&diff_a)
        } else if target == result_b {
            Some(&diff_b)
        } else {
            panic!("round {round}: the target is neither as before nor one plan's result");
        };
        if let Some(diff_ref) = whose {
            let logs = logs(&repo);
            assert!(
                logs.iter()
                    .any(|l| l["dry_run"]["diff_ref"] == diff_ref.as_str()
                        && l["execution"]["status"] == "success"),
                "round {round}: no sync_log for the plan the target holds"
            );
        }
        let verify = repo.run(&["evidence", "verify"]);
        assert_eq!(verify.code(), 0, "round {round}: {}", verify.transcript());
    }
    // Applies completed, and each forced round killed its winner: the
    // recoveries finished or undid what they left.
    assert!(applied > 0, "no apply completed");
    assert!(kills >= 12, "{kills} kills");
    assert!(
        recovered_forward >= 6,
        "{recovered_forward} applies rolled forward"
    );
}
