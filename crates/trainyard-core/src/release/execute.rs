//! Carrying out a step's plan: every action, in order, nothing else. The
//! release state is saved after each action, so a killed step resumes
//! from the last one that finished.

use super::{
    Action, RcCut, ReleaseState, Step, StepName, StepPlan, StepReport, Validation, all, publish,
    save,
};
use crate::artifacts;
use crate::channels;
use crate::checklist::{self, ChecklistRequest};
use crate::gate::{self, GateRequest, GateResult};
use crate::git_cli::{self, Worktree};
use crate::ledger::Ledger;
use crate::shell::Shell;
use crate::signoff;
use crate::version::{self, Bump};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Carries out `plan`: takes the repository lock, checks that the release
/// is still where the plan found it, and runs the plan's actions in order.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the release changed since the plan
/// (plan again), and the error of the first action that fails; the state
/// then records every action done before it.
pub fn execute(ws: &Workspace, plan: StepPlan) -> Result<StepReport> {
    let _lock = ws.lock()?;
    check_fresh(ws, &plan)?;
    check_credentials(ws, &plan)?;
    let mut run = Run {
        ws,
        step: plan.step,
        state: plan.state.clone(),
        candidate: plan.candidate.clone(),
        passed: true,
        messages: plan.messages.clone(),
        gate: None,
    };
    let mut executed = Vec::with_capacity(plan.actions.len());
    for action in &plan.actions {
        run.apply(action)?;
        executed.push(action.clone());
    }
    Ok(StepReport {
        version: plan.version,
        step: plan.step.as_str().into(),
        applied: true,
        actions: plan.actions,
        executed,
        passed: run.passed,
        messages: run.messages,
        state: run.state,
    })
}

/// Resolves the credentials of every channel the plan publishes to, so a
/// missing token stops the publication before the tag is made.
fn check_credentials(ws: &Workspace, plan: &StepPlan) -> Result<()> {
    for action in &plan.actions {
        if let Action::Publish { channel: name, .. } = action
            && let Some(channel) = ws.config.release.channels.iter().find(|c| c.name() == name)
        {
            channel.token(&ws.home).map_err(|e| {
                e.within(
                    &format!("channel `{name}`: "),
                    "; nothing was published, tagged or committed",
                )
            })?;
        }
    }
    Ok(())
}

/// Refuses a plan the release has moved on from.
fn check_fresh(ws: &Workspace, plan: &StepPlan) -> Result<()> {
    let stale = || {
        Error::input(format!(
            "release {} changed since this `release {}` was planned: run it again",
            ws.release_name(&plan.version),
            plan.step.as_str()
        ))
    };
    let now = all(ws)?.into_iter().find(|s| s.version == plan.version);
    match plan.step {
        StepName::Start => {
            if now.is_some_and(|s| s.step != Step::Aborted) {
                return Err(stale());
            }
            let version = plan.state.version()?;
            let ledger = Ledger::read(ws)?;
            if ledger.in_progress().is_some() {
                return Err(stale());
            }
            ledger.refuse_claimed(&version, "start a release of")
        }
        _ if now.as_ref() != Some(&plan.state) => Err(stale()),
        _ => Ok(()),
    }
}

struct Run<'a> {
    ws: &'a Workspace,
    step: StepName,
    state: ReleaseState,
    candidate: Option<super::rc::Candidate>,
    passed: bool,
    messages: Vec<String>,
    gate: Option<GateResult>,
}

impl Run<'_> {
    fn apply(&mut self, action: &Action) -> Result<()> {
        let ws = self.ws;
        match action {
            Action::WriteState { step, .. } => {
                if *step == Step::Started {
                    self.sign("start")?;
                }
                // Validation moves on only when its checks passed.
                if *step != Step::Validated || self.passed {
                    self.state.step = *step;
                }
                if *step == Step::Posted {
                    self.state.posted_at = Some(ws.now.to_string());
                }
                save(ws, &self.state)
            }
            Action::CreateBranch { branch, at } => {
                git_cli::run(&ws.home, &["branch", branch, at]).map(|_| ())
            }
            Action::Commit {
                branch,
                message,
                files,
                version,
                changelog,
            } => super::files::commit(
                ws,
                branch,
                &version::parse(version)?,
                &version::parse(changelog)?,
                message,
                files,
            ),
            Action::Tag { tag, at, message } => self.tag(tag, at, message),
            Action::RunGate { gate, at } => self.run_gate(gate, at),
            Action::Validate { .. } => self.validate(),
            Action::BuildArtifacts { at, dir } => self.build_artifacts(at, dir),
            Action::Publish { channel, .. } => self.publish(channel),
            Action::WriteEvidence { .. } => self.write_evidence(),
            Action::Merge {
                branch,
                into,
                message,
            } => self.merge(branch, into, message),
            Action::WriteFile { path, .. } => {
                let today = ws.today()?;
                let planned = crate::calendar::track::read(path)?;
                let reconciled = crate::calendar::track::reconcile(ws, &planned, today)?;
                let text = crate::evidence::render_yaml(&reconciled.document)?;
                crate::fsutil::write_atomic(path, text.as_bytes())
            }
            Action::Run { command } => self.announce(command),
            Action::Sync { sync_id, .. } => {
                self.sync(sync_id);
                Ok(())
            }
            Action::DeleteBranch { branch } => self.undo(&["branch", "-D", branch]),
            Action::DeleteTag { tag } => self.undo(&["tag", "-d", tag]),
        }
    }

    /// In team mode, signs the decision of `step` and records the signer
    /// (a `start` records who started the release).
    fn sign(&mut self, step: &str) -> Result<()> {
        let ws = self.ws;
        let Some(team) = ws.team()? else {
            return Ok(());
        };
        let signature = team.sign_with(&ws.signing_key()?, None, &self.state.decision(step))?;
        if step == "start" {
            self.state.started_by = format!("{} (key {})", signature.principal, signature.key);
        }
        self.state.signatures.insert(step.to_owned(), signature);
        Ok(())
    }

    /// In team mode, checks the signature of an earlier step's decision.
    fn check_signed(&self, step: &str) -> Result<Option<crate::identity::Verified>> {
        let ws = self.ws;
        let Some(team) = ws.team()? else {
            return Ok(None);
        };
        let signature = self.state.signatures.get(step).ok_or_else(|| {
            Error::input(format!(
                "release {}: its `{step}` decision is not signed, and decisions are signed in this repository: abort it and start again",
                self.state.version
            ))
        })?;
        team.verify(&self.state.decision(step), signature)
            .map(Some)
            .map_err(|e| {
                e.within(
                    &format!("release {}: the `{step}` decision: ", self.state.version),
                    "",
                )
            })
    }

    fn tag(&mut self, tag: &str, at: &str, message: &str) -> Result<()> {
        let ws = self.ws;
        let mode = if ws.config.release.sign_tags {
            "-s"
        } else {
            "-a"
        };
        git_cli::run_dated(&ws.home, &["tag", mode, tag, "-m", message, at], ws.now)?;
        let commit = git_cli::commit_of(&ws.home, tag)?;
        match &self.candidate {
            Some(candidate) => {
                self.state.rcs.push(RcCut {
                    n: candidate.n,
                    branch: candidate.branch.clone(),
                    tag: tag.to_owned(),
                    commit,
                    from: Some(candidate.from.clone()),
                    cut_at: ws.now.to_string(),
                    gate_passed: None,
                });
                self.state.step = Step::Rc;
                self.state.validation = None;
            }
            None => {
                self.state.publication.tag = Some(tag.to_owned());
                self.state.publication.commit = Some(commit);
            }
        }
        save(ws, &self.state)
    }

    /// The release tag and its commit, as the state records them or, after
    /// a crash between tagging and saving, as the repository has them.
    fn release_tag(&mut self) -> Result<(String, String)> {
        let ws = self.ws;
        if let (Some(tag), Some(commit)) =
            (&self.state.publication.tag, &self.state.publication.commit)
        {
            return Ok((tag.clone(), commit.clone()));
        }
        let tag = ws.tag_name(&self.state.version()?);
        let commit = git_cli::commit_of(&ws.home, &tag)?;
        self.state.publication.tag = Some(tag.clone());
        self.state.publication.commit = Some(commit.clone());
        save(ws, &self.state)?;
        Ok((tag, commit))
    }

    fn run_gate(&mut self, gate_name: &str, at: &str) -> Result<()> {
        let ws = self.ws;
        let commit = git_cli::commit_of(&ws.home, at)?;
        let worktree = Worktree::add(&ws.home, &commit)?;
        let view = ws.view_at(worktree.path())?;
        let request = GateRequest {
            name: gate_name.to_owned(),
            commit: Some(commit),
            version: Some(self.state.version()?),
            freeze_point: self.state.freeze_commit.clone(),
            workdir: Some(worktree.path().to_path_buf()),
        };
        let result = gate::run(&view, &request)?;
        gate::record(&view, &result)?;
        if self.step == StepName::Rc {
            if let Some(last) = self.state.rcs.last_mut() {
                last.gate_passed = Some(result.passed);
            }
            save(ws, &self.state)?;
            if result.passed {
                self.messages.push(format!("{gate_name} passed on {at}"));
            } else {
                self.passed = false;
                self.messages
                    .extend(result.reasons.iter().map(|r| format!("{gate_name}: {r}")));
            }
        }
        self.gate = Some(result);
        Ok(())
    }

    fn validate(&mut self) -> Result<()> {
        let ws = self.ws;
        let gate_result = self
            .gate
            .clone()
            .ok_or_else(|| Error::Internal("validation without a gate result".into()))?;
        let last = self
            .state
            .candidate()
            .cloned()
            .ok_or_else(|| Error::Internal("validation without a candidate".into()))?;
        let version = self.state.version()?;
        let worktree = Worktree::add(&ws.home, &last.commit)?;
        let view = ws.view_at(worktree.path())?;
        let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
        let previous = self
            .state
            .previous_tag
            .as_ref()
            .and_then(|name| tags.versions.iter().find(|t| &t.name == name).cloned());
        let checklist = checklist::run(
            &view,
            &ChecklistRequest {
                version: version.clone(),
                kind: self.state.bump(),
                commit: last.commit.clone(),
                previous,
                release_branches: self.state.rcs.iter().map(|r| r.branch.clone()).collect(),
            },
        )?;
        let bound = signoff::on_commit(signoff::list(ws, &version)?, &last.commit);
        let gate_name = gate_result.gate.clone();
        let mut failures: Vec<String> = Vec::new();
        if !gate_result.passed {
            failures.extend(
                gate_result
                    .reasons
                    .iter()
                    .map(|r| format!("{gate_name}: {r}")),
            );
        }
        failures.extend(
            checklist
                .items
                .iter()
                .filter(|i| i.required_here && i.status == checklist::Status::Fail)
                .map(|i| format!("{} {}: {}", i.id, i.check, i.reason)),
        );
        let reviewers = match signoff::review_complete(&bound) {
            Ok(pair) => Some(pair),
            Err(why) => {
                failures.push(format!(
                    "two-layer review: {why} on the candidate {} ({}): run `{}`",
                    last.tag,
                    &last.commit[..10],
                    self.ws
                        .command(&format!("signoff {version} --item review --layer 1|2"))
                ));
                None
            }
        };
        if self.state.bump() == Bump::Major && signoff::has(&bound, signoff::Item::Major).is_none()
        {
            failures.push(format!(
                "a major release needs a human sign-off besides G-REL on the candidate {}: run `{}`",
                last.tag,
                self.ws.command(&format!("signoff {version} --item major"))
            ));
        }
        self.passed = failures.is_empty();
        let validation = Validation {
            commit: last.commit.clone(),
            gate: gate_name,
            gate_passed: gate_result.passed,
            success_rate: gate_result.success_rate,
            rework_rate: gate_result.rework_rate,
            all_tasks_passed: gate_result.all_tasks_passed,
            checklist: checklist.items,
            reviewers,
            failures: failures.clone(),
            validated_at: ws.now.to_string(),
        };
        let name = format!("{}-{}", ws.scoped_name(&self.state.version), ws.stamp());
        ws.evidence_store().record_document(&name, &validation)?;
        self.state.validation = Some(validation);
        self.messages.extend(failures);
        save(ws, &self.state)
    }

    fn build_artifacts(&mut self, at: &str, dir: &std::path::Path) -> Result<()> {
        let ws = self.ws;
        self.release_tag()?;
        let worktree = Worktree::add(&ws.home, at)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
        let env = vec![
            ("TRAINYARD_VERSION".to_owned(), self.state.version.clone()),
            ("TRAINYARD_TAG".to_owned(), at.to_owned()),
        ];
        let mut built = artifacts::build(&ws.config.release.artifacts, worktree.path(), dir, &env)?;
        let sums = artifacts::write_sha256sums(dir, &built)?;
        let sums_path = sums.path.clone();
        built.push(sums);
        if let Some(signing) = &ws.config.release.signing {
            let password = match &signing.password {
                Some(reference) => Some(crate::credentials::resolve(reference, &ws.home)?),
                None => None,
            };
            let key = ws.home.join(&signing.secret_key);
            let signature =
                artifacts::sign(&sums_path, &key, password.as_ref().map(|p| p.expose()))?;
            built.push(artifacts::Artifact::from_file(&signature)?);
        }
        self.state.publication.artifacts = built;
        self.state.publication.artifacts_dir = Some(dir.to_path_buf());
        save(ws, &self.state)
    }

    fn publish(&mut self, name: &str) -> Result<()> {
        let ws = self.ws;
        let (tag, _) = self.release_tag()?;
        let channel = ws
            .config
            .release
            .channels
            .iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                Error::input(format!(
                    "channel {name} of the plan is no longer configured"
                ))
            })?;
        let token = channel.token(&ws.home)?;
        // Only a forge release has a body; the notes walk the history.
        let notes = if channel.kind().is_forge_release() {
            publish::notes_markdown(ws, &self.state.version)?
        } else {
            String::new()
        };
        let release = publish::release_for(
            ws,
            &self.state.version,
            &tag,
            &self.state.publication.artifacts,
            token,
            notes,
        );
        match channels::publish(channel, &release) {
            Ok(receipt) => {
                self.messages.push(format!("{name}: published"));
                self.state
                    .publication
                    .channels
                    .insert(name.to_owned(), receipt);
                self.state.publication.published_at = Some(ws.now.to_string());
                self.state.publication.last_error = None;
                save(ws, &self.state)
            }
            Err(e) => {
                self.state.publication.last_error = Some(format!("{name}: {e}"));
                save(ws, &self.state)?;
                Err(Error::environment(format!(
                    "publishing {tag} to channel {name} failed: {e}; the channels already published keep their receipts: re-run `{}` to publish the rest",
                    ws.command("release publish")
                )))
            }
        }
    }

    fn write_evidence(&mut self) -> Result<()> {
        let ws = self.ws;
        let (_, commit) = self.release_tag()?;
        // Who started it is checked; who publishes it signs.
        self.check_signed("start")?;
        if !self.state.signatures.contains_key("publish") {
            self.sign("publish")?;
        }
        let signer = self.check_signed("publish")?;
        let branch = self
            .state
            .candidate()
            .map(|c| c.branch.clone())
            .unwrap_or_default();
        let documents = super::evidence::write_release_evidence(
            ws,
            &self.state,
            &commit,
            &branch,
            signer.as_ref(),
        )?;
        self.state.publication.evidence = documents;
        save(ws, &self.state)
    }

    fn merge(&mut self, branch: &str, into: &str, message: &str) -> Result<()> {
        let ws = self.ws;
        let checked_out = git_cli::run(&ws.home, &["symbolic-ref", "--quiet", "--short", "HEAD"])
            .is_ok_and(|b| b.trim() == into);
        let worktree;
        let dir = if checked_out {
            ws.home.clone()
        } else {
            worktree = Worktree::on_branch(&ws.home, into)?;
            worktree.path().to_path_buf()
        };
        let merged =
            git_cli::run_dated(&dir, &["merge", "--no-edit", "-m", message, branch], ws.now);
        if let Err(e) = merged {
            let _ = git_cli::run(&dir, &["merge", "--abort"]);
            return Err(Error::input(format!(
                "merging {branch} into {into} failed: {e}; nothing was merged: merge it by hand, then run `{}` again",
                ws.command("release post")
            )));
        }
        self.messages.push(format!(
            "{branch} merged into {into}: push it with `git push <remote> {into}`"
        ));
        Ok(())
    }

    /// A failing announcement fails the step, but does not stop it.
    fn announce(&mut self, command: &str) -> Result<()> {
        let ws = self.ws;
        let tag = ws.tag_name(&self.state.version()?);
        let status = Shell::new(command, &ws.root)
            .env("TRAINYARD_VERSION", &self.state.version)
            .env("TRAINYARD_TAG", &tag)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                self.passed = false;
                self.messages.push(format!(
                    "`{command}` exited with {}",
                    s.code().unwrap_or(-1)
                ));
            }
            Err(e) => {
                self.passed = false;
                self.messages.push(format!("cannot run `{command}`: {e}"));
            }
        }
        Ok(())
    }

    /// An `on_release` sync's outcome is a note, never a failed post.
    fn sync(&mut self, sync_id: &str) {
        #[cfg(unix)]
        {
            let ws = self.ws;
            match crate::sync::schedule::run_one_on_release(
                ws,
                ws.now,
                &self.state.version,
                sync_id,
            ) {
                Ok(outcomes) => self
                    .messages
                    .extend(outcomes.iter().map(|o| format!("on_release sync {o}"))),
                Err(e) => self
                    .messages
                    .push(format!("on_release sync {sync_id} not run: {e}")),
            }
        }
        #[cfg(not(unix))]
        let _ = sync_id;
    }

    fn undo(&mut self, args: &[&str]) -> Result<()> {
        if let Err(e) = git_cli::run(&self.ws.home, args) {
            self.messages.push(format!("could not undo: {e}"));
        }
        Ok(())
    }
}
