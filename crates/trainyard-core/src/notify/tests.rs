//! Tests of notifications: webhooks, email, files and commands against
//! local servers and temporary directories.

use super::*;
use crate::bounded::Port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::thread::JoinHandle;

const TOKEN: &str = "T0KEN5ecretXoxb0123456789";

fn notification(status: Status) -> Notification {
    Notification {
        sync_id: "docs-upstream".to_owned(),
        execution_id: "exec-42".to_owned(),
        status,
        summary: "applied plan p-7 to docs".to_owned(),
        log_ref: Some(".trainyard/evidence/sync/docs-upstream/exec-42.yaml".to_owned()),
        counts: ChangesApplied {
            added: 3,
            modified: 1,
            deleted: 2,
        },
        errors: Vec::new(),
    }
}

/// Long enough that only a hung test waits it out.
const HUNG: Duration = Duration::from_secs(120);

/// A short retry pause, and timeouts no busy machine reaches: a test
/// that needs a timeout to fire sets its own.
fn quick() -> Limits {
    Limits {
        webhook_timeout: HUNG,
        retry_pause: Duration::from_millis(20),
        smtp_timeout: HUNG,
        command_timeout: HUNG,
    }
}

/// Runs `f` on its own thread and returns what it returns; panics if it
/// has not returned within [`HUNG`], instead of hanging the test run.
fn finishes<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HUNG)
        .expect("still running long after its timeout, or it panicked")
}

fn targets(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

// --------------------------------------------------------- http server

/// One HTTP request as the test server read it.
struct Request {
    line: String,
    headers: Vec<String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Request {
    stream.set_read_timeout(Some(HUNG)).expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("request line");
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("header");
        if header == "\r\n" || header.is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().expect("length");
        }
        headers.push(header.trim_end().to_owned());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    Request {
        line: line.trim_end().to_owned(),
        headers,
        body,
    }
}

/// Answers `statuses.len()` requests, one per connection, and gives
/// back the requests and the listener (to check nothing else came).
fn http_server(statuses: Vec<u16>) -> (u16, JoinHandle<(Vec<Request>, TcpListener)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for status in statuses {
            let (mut stream, _) = listener.accept().expect("accept");
            seen.push(read_request(&stream));
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )
            .expect("answer");
        }
        (seen, listener)
    });
    (port, handle)
}

/// Checks, once the delivery has returned, that it made no connection
/// beyond those the server answered: a connection of our own, made only
/// now, must be the next one the listener accepts.
fn no_more_connections(listener: &TcpListener) {
    let ours = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (_, peer) = listener.accept().expect("accept");
    assert_eq!(
        peer,
        ours.local_addr().expect("local addr"),
        "another request came"
    );
}

// -------------------------------------------------------------- webhook

#[test]
fn a_webhook_receives_one_post_with_the_text_and_the_fields() {
    let (port, server) = http_server(vec![200]);
    let url = format!("http://127.0.0.1:{port}/services/{TOKEN}?token={TOKEN}");
    let mut n = notification(Status::Success);
    n.errors = vec!["a <b> & c".to_owned()];
    let deliveries = send_with(
        &quick(),
        &NotifyConfig::default(),
        Path::new("."),
        &[url],
        &n,
    );
    let (requests, listener) = server.join().expect("server");
    no_more_connections(&listener);

    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert!(d.ok, "{d:?}");
    assert_eq!(d.target, format!("http://127.0.0.1:{port}/…"));
    assert_eq!(
        d.message,
        format!("POST http://127.0.0.1:{port}/…: HTTP 200")
    );

    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.line,
        format!("POST /services/{TOKEN}?token={TOKEN} HTTP/1.1")
    );
    assert!(
        request
            .headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("content-type: application/json")),
        "{:?}",
        request.headers
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(
        body["text"],
        "trainyard sync `docs-upstream` succeeded: applied plan p-7 to docs\n\
         3 added, 1 modified, 2 deleted (execution exec-42)\n\
         log: .trainyard/evidence/sync/docs-upstream/exec-42.yaml\n\
         errors:\n- a &lt;b&gt; &amp; c"
    );
    assert_eq!(body["sync_id"], "docs-upstream");
    assert_eq!(body["execution_id"], "exec-42");
    assert_eq!(body["status"], "success");
    assert_eq!(body["summary"], "applied plan p-7 to docs");
    assert_eq!(
        body["log_ref"],
        ".trainyard/evidence/sync/docs-upstream/exec-42.yaml"
    );
    assert_eq!(
        body["counts"],
        serde_json::json!({"added": 3, "modified": 1, "deleted": 2})
    );
    assert_eq!(body["errors"], serde_json::json!(["a <b> & c"]));
    assert!(body["sent_at"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[test]
fn a_webhook_answering_500_is_tried_twice_and_fails() {
    let (port, server) = http_server(vec![500, 500]);
    let url = format!("http://127.0.0.1:{port}/hook/{TOKEN}");
    let deliveries = send_with(
        &quick(),
        &NotifyConfig::default(),
        Path::new("."),
        &[url],
        &notification(Status::Failed),
    );
    let (requests, listener) = server.join().expect("server");
    no_more_connections(&listener);
    assert_eq!(requests.len(), 2);
    let d = &deliveries[0];
    assert!(!d.ok);
    assert_eq!(
        d.message,
        format!("webhook http://127.0.0.1:{port}/… answered HTTP 500 after 2 attempts")
    );
    assert!(!d.message.contains(TOKEN) && !d.target.contains(TOKEN));
}

#[test]
fn a_webhook_answering_404_is_not_retried() {
    let (port, server) = http_server(vec![404]);
    let url = format!("http://127.0.0.1:{port}/hook");
    let deliveries = send_with(
        &quick(),
        &NotifyConfig::default(),
        Path::new("."),
        &[url],
        &notification(Status::Failed),
    );
    let (_, listener) = server.join().expect("server");
    no_more_connections(&listener);
    assert!(!deliveries[0].ok);
    assert!(deliveries[0].message.ends_with("answered HTTP 404"));
}

#[test]
fn a_dead_webhook_is_refused_not_timed_out_with_the_default_limits() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/services/{TOKEN}");
    let deliveries = finishes(move || {
        send(
            &NotifyConfig::default(),
            Path::new("."),
            &[url],
            &notification(Status::Success),
        )
    });
    // Refused twice: a connection error, not the 10 s timeout.
    let d = &deliveries[0];
    assert!(!d.ok);
    assert!(
        d.message.starts_with(&format!(
            "webhook http://127.0.0.1:{port}/… failed after 2 attempts: "
        )),
        "{}",
        d.message
    );
    assert!(d.message.contains("refused"), "{}", d.message);
    assert!(!d.message.contains(TOKEN) && !d.target.contains(TOKEN));
}

#[test]
fn a_silent_webhook_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (done, told) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        // Accepts and reads, and answers nothing until the delivery has
        // ended: only its own timeout can end it. The listener stays open,
        // so a retry connects and is not answered either.
        let (stream, _) = listener.accept().expect("accept");
        let _ = read_request(&stream);
        let _ = told.recv_timeout(HUNG);
        drop(stream);
    });
    let deliveries = finishes(move || {
        let limits = Limits {
            webhook_timeout: Duration::from_millis(400),
            ..quick()
        };
        let url = format!("http://127.0.0.1:{port}/x/{TOKEN}");
        send_with(
            &limits,
            &NotifyConfig::default(),
            Path::new("."),
            &[url],
            &notification(Status::Success),
        )
    });
    let _ = done.send(());
    let d = &deliveries[0];
    assert!(!d.ok);
    // A busy machine may spend the 400 ms before the connection is made,
    // which is then tried twice: either way it is reported as timed out.
    assert!(
        d.message.starts_with(&format!(
            "webhook http://127.0.0.1:{port}/… did not answer within 400 ms"
        )),
        "{}",
        d.message
    );
    assert!(!d.message.contains(TOKEN));
    server.join().expect("server");
}

#[test]
fn a_token_never_shows_in_a_delivery_or_a_target() {
    let url = format!("https://user:{TOKEN}@hooks.example.org/services/{TOKEN}?t={TOKEN}");
    let target = parse_target(&url).expect("valid");
    assert_eq!(target.to_string(), "https://hooks.example.org/…");
    assert!(!format!("{target:?}").contains(TOKEN));
    let message = format!("POST {url} failed; path /services/{TOKEN}?t={TOKEN}");
    assert!(!scrub(&message, &target).contains(TOKEN));
    // A URL without its scheme is refused without being repeated.
    let e = parse_target(&format!("hooks.example.org/services/{TOKEN}")).expect_err("bad");
    assert!(!e.to_string().contains(TOKEN), "{e}");
    let e = parse_target(&format!("https://hooks.example.org/a b/{TOKEN}")).expect_err("bad");
    assert!(!e.to_string().contains(TOKEN), "{e}");
}

// ----------------------------------------------------------- file, command

#[test]
fn a_file_target_appends_one_json_line_per_notification() {
    let dir = tempfile::tempdir().expect("dir");
    let list = targets(&["file:.trainyard/notifications.jsonl"]);
    let config = NotifyConfig::default();
    let first = send(&config, dir.path(), &list, &notification(Status::Success));
    assert!(first[0].ok, "{first:?}");
    assert_eq!(first[0].target, "file:.trainyard/notifications.jsonl");
    assert_eq!(
        first[0].message,
        "appended a line to .trainyard/notifications.jsonl"
    );
    let second = send(&config, dir.path(), &list, &notification(Status::Partial));
    assert!(second[0].ok, "{second:?}");
    let text =
        std::fs::read_to_string(dir.path().join(".trainyard/notifications.jsonl")).expect("read");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "success");
    assert_eq!(lines[1]["status"], "partial");
    assert_eq!(lines[1]["sync_id"], "docs-upstream");
    assert!(text.ends_with('\n'));
}

#[test]
fn a_command_gets_the_json_on_stdin_and_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let list = targets(&[
        "command:cat > got.json && printf '%s %s' \"$TRAINYARD_SYNC_ID\" \"$TRAINYARD_SYNC_STATUS\" > env.txt",
    ]);
    let deliveries = send_with(
        &quick(),
        &NotifyConfig::default(),
        dir.path(),
        &list,
        &notification(Status::Refused),
    );
    assert!(deliveries[0].ok, "{deliveries:?}");
    assert!(deliveries[0].message.ends_with("exited 0"));
    let got: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("got.json")).expect("stdin"))
            .expect("json");
    assert_eq!(got["status"], "refused");
    assert_eq!(got["execution_id"], "exec-42");
    assert!(
        got["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("trainyard sync `docs-upstream` was refused"))
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("env.txt")).expect("env"),
        "docs-upstream refused"
    );
}

#[test]
fn a_failing_or_hanging_command_is_a_failed_delivery() {
    let dir = tempfile::tempdir().expect("dir");
    let failed = send_with(
        &quick(),
        &NotifyConfig::default(),
        dir.path(),
        &targets(&["command:echo no route to chat >&2; exit 3"]),
        &notification(Status::Failed),
    );
    assert!(!failed[0].ok);
    assert_eq!(
        failed[0].message,
        "`echo no route to chat >&2; exit 3` exited 3: no route to chat"
    );
    // `sleep 600` ends only when stopped: the delivery returning at all,
    // long before, shows the timeout stopped it.
    let root = dir.path().to_path_buf();
    let hung = finishes(move || {
        let limits = Limits {
            command_timeout: Duration::from_millis(300),
            ..quick()
        };
        send_with(
            &limits,
            &NotifyConfig::default(),
            &root,
            &targets(&["command:sleep 600"]),
            &notification(Status::Failed),
        )
    });
    assert!(!hung[0].ok);
    assert_eq!(
        hung[0].message,
        "`sleep 600` did not finish within 300 ms and was stopped"
    );
}

#[test]
fn a_command_timeout_too_long_for_the_clock_is_no_limit() {
    let dir = tempfile::tempdir().expect("dir");
    let limits = Limits {
        command_timeout: Duration::MAX,
        ..quick()
    };
    let deliveries = send_with(
        &limits,
        &NotifyConfig::default(),
        dir.path(),
        &targets(&["command:true"]),
        &notification(Status::Failed),
    );
    assert!(deliveries[0].ok, "{:?}", deliveries[0].message);
}

// ---------------------------------------------------------------- email

/// What the SMTP test server saw.
struct Mail {
    commands: Vec<String>,
    data: String,
}

/// Speaks enough SMTP to accept one message.
fn smtp_server(auth: bool) -> (u16, JoinHandle<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(HUNG)).expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut mail = Mail {
            commands: Vec::new(),
            data: String::new(),
        };
        stream.write_all(b"220 test ESMTP\r\n").expect("greet");
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("line") == 0 {
                break;
            }
            let line = line.trim_end().to_owned();
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            mail.commands.push(line);
            let answer: &[u8] = match verb.as_str() {
                "EHLO" if auth => b"250-test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
                "EHLO" => b"250-test\r\n250 8BITMIME\r\n",
                "AUTH" => b"235 2.7.0 accepted\r\n",
                "DATA" => {
                    stream.write_all(b"354 go on\r\n").expect("354");
                    loop {
                        let mut data = String::new();
                        reader.read_line(&mut data).expect("data");
                        if data == ".\r\n" || data.is_empty() {
                            break;
                        }
                        mail.data.push_str(&data);
                    }
                    b"250 2.0.0 queued\r\n"
                }
                "QUIT" => {
                    stream.write_all(b"221 bye\r\n").expect("221");
                    break;
                }
                _ => b"250 ok\r\n",
            };
            stream.write_all(answer).expect("answer");
        }
        mail
    });
    (port, handle)
}

fn smtp_config(port: u16) -> NotifyConfig {
    NotifyConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: Port::try_from(u64::from(port)).expect("a listening port"),
            from: "Trainyard <trainyard@example.org>".to_owned(),
            starttls: false,
            credentials: None,
        }),
    }
}

#[test]
fn an_email_reaches_the_relay_with_subject_and_body() {
    let (port, server) = smtp_server(false);
    let mut n = notification(Status::Failed);
    n.errors = vec!["conflict on docs/index.md".to_owned()];
    let deliveries = send_with(
        &quick(),
        &smtp_config(port),
        Path::new("."),
        &targets(&["email:ops@example.org"]),
        &n,
    );
    let mail = server.join().expect("server");
    assert!(deliveries[0].ok, "{deliveries:?}");
    assert_eq!(deliveries[0].target, "email:ops@example.org");
    assert_eq!(
        deliveries[0].message,
        format!("emailed ops@example.org through 127.0.0.1:{port}")
    );
    assert!(
        mail.commands
            .iter()
            .any(|c| c == "MAIL FROM:<trainyard@example.org>")
    );
    assert!(
        mail.commands
            .iter()
            .any(|c| c == "RCPT TO:<ops@example.org>")
    );
    assert!(!mail.commands.iter().any(|c| c.starts_with("AUTH")));
    let data = mail.data.replace("\r\n", "\n");
    assert!(
        data.contains("Subject: [trainyard] sync docs-upstream: failed\n"),
        "{data}"
    );
    assert!(data.contains("To: ops@example.org\n"), "{data}");
    assert!(
        data.contains(
            "trainyard sync `docs-upstream` failed: applied plan p-7 to docs\n\
             3 added, 1 modified, 2 deleted (execution exec-42)\n"
        ),
        "{data}"
    );
    assert!(data.contains("- conflict on docs/index.md"), "{data}");
}

#[test]
fn an_email_authenticates_with_the_resolved_credentials() {
    use ct_codecs::Decoder as _;
    let (port, server) = smtp_server(true);
    let mut config = smtp_config(port);
    if let Some(smtp) = config.smtp.as_mut() {
        smtp.credentials = Some("command:printf 'ci-bot:s3cret'".to_owned());
    }
    let deliveries = send_with(
        &quick(),
        &config,
        Path::new("."),
        &targets(&["email:ops@example.org"]),
        &notification(Status::Success),
    );
    let mail = server.join().expect("server");
    assert!(deliveries[0].ok, "{deliveries:?}");
    assert!(!deliveries[0].message.contains("s3cret"));
    let auth = mail
        .commands
        .iter()
        .find(|c| c.starts_with("AUTH PLAIN "))
        .expect("auth");
    let decoded =
        ct_codecs::Base64::decode_to_vec(&auth["AUTH PLAIN ".len()..], None).expect("base64");
    assert_eq!(decoded, b"\0ci-bot\0s3cret");
}

#[test]
fn an_email_to_a_dead_relay_fails_quietly() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let deliveries = send_with(
        &quick(),
        &smtp_config(port),
        Path::new("."),
        &targets(&["email:ops@example.org", "file:"]),
        &notification(Status::Success),
    );
    assert!(!deliveries[0].ok);
    assert!(
        deliveries[0].message.starts_with(&format!(
            "email to ops@example.org through 127.0.0.1:{port} failed: "
        )),
        "{}",
        deliveries[0].message
    );
    // A bad target is a failed delivery too, and the others still go.
    assert!(!deliveries[1].ok);
    assert_eq!(
        deliveries[1].message,
        "notification target `file:` names no file (write file:PATH)"
    );
}

#[test]
fn an_email_target_needs_the_smtp_settings() {
    let list = targets(&["file:n.jsonl", "email:ops@example.org"]);
    let e = validate(&NotifyConfig::default(), &list).expect_err("no relay");
    assert_eq!(
        e.to_string(),
        "notification target `email:ops@example.org` needs notify.smtp (host and from) in trainyard.yaml"
    );
    let deliveries = send(
        &NotifyConfig::default(),
        Path::new("."),
        &list[1..],
        &notification(Status::Success),
    );
    assert!(!deliveries[0].ok);
    assert_eq!(deliveries[0].message, e.to_string());
    let parsed = validate(&smtp_config(25), &list).expect("valid");
    assert_eq!(
        parsed,
        vec![
            Target::File(PathBuf::from("n.jsonl")),
            Target::Email("ops@example.org".to_owned())
        ]
    );
}

#[test]
fn the_port_is_bounded_when_read() {
    let read = |yaml: &str| {
        crate::yaml::parse::<NotifyConfig>(yaml, Path::new("t.yaml")).map_err(|e| e.to_string())
    };
    let smtp = "smtp:\n  host: relay\n  from: ci@example.org\n";
    let config = read(smtp).expect("default port");
    assert_eq!(config.smtp.map(|s| s.port.number()), Some(25));
    for (port, message) in [
        (
            "0",
            "t.yaml:4:9: smtp.port: must be between 1 and 65535, not 0",
        ),
        (
            "65536",
            "t.yaml:4:9: smtp.port: must be between 1 and 65535, not 65536",
        ),
    ] {
        assert_eq!(
            read(&format!("{smtp}  port: {port}\n")).expect_err(port),
            message
        );
    }
}

#[test]
fn credentials_need_starttls_unless_the_relay_is_local() {
    let mut smtp = SmtpConfig {
        host: "relay.example.org".to_owned(),
        port: Port::constant(587),
        from: "ci@example.org".to_owned(),
        starttls: false,
        credentials: Some("env:SMTP_LOGIN".to_owned()),
    };
    let e = smtp.validate().expect_err("clear text");
    assert_eq!(
        e.to_string(),
        "notify.smtp.credentials need notify.smtp.starttls: true, since relay.example.org is not this machine and a password is never sent in clear"
    );
    smtp.starttls = true;
    smtp.validate().expect("with starttls");
    smtp.starttls = false;
    smtp.host = "localhost".to_owned();
    smtp.validate().expect("local relay");
}

// ---------------------------------------------------------------- parse

#[test]
fn targets_parse_strictly_with_clear_errors() {
    assert_eq!(
        parse_target("https://hooks.example.org/x").expect("https"),
        Target::Webhook("https://hooks.example.org/x".to_owned())
    );
    assert_eq!(
        parse_target("command:notify-send done").expect("command"),
        Target::Command("notify-send done".to_owned())
    );
    let cases = [
        (
            "",
            "notification target is empty: write https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND",
        ),
        (
            " file:x",
            "notification target `file:x` has leading or trailing spaces",
        ),
        ("https://", "notification target `https:///…` is not a URL"),
        (
            "https://hooks.example.org/a b",
            "notification target `https://hooks.example.org/…` is not a URL",
        ),
        (
            "ops@example.org",
            "notification target `ops@example.org` has no scheme: write https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND (for an email, write email:ops@example.org)",
        ),
        (
            "email:",
            "notification target `email:` names no address (write email:ADDRESS)",
        ),
        (
            "email:ops",
            "notification target `email:ops` is not an email address",
        ),
        (
            "email:Ops <ops@example.org>",
            "notification target `email:Ops <ops@example.org>` is not an email address",
        ),
        (
            "file:",
            "notification target `file:` names no file (write file:PATH)",
        ),
        (
            "command:",
            "notification target `command:` names no command (write command:COMMAND)",
        ),
        (
            "mailto:ops@example.org",
            "notification target `mailto:ops@example.org`: write email:ADDRESS, not mailto:",
        ),
        (
            "slack:#releases",
            "notification target `slack:#releases` has an unknown scheme `slack:`: write https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND",
        ),
        (
            "ftp://files.example.org/drop",
            "notification target `ftp://files.example.org/…` has an unknown scheme `ftp:`",
        ),
    ];
    for (text, expected) in cases {
        let message = parse_target(text).expect_err(text).to_string();
        assert!(
            message.starts_with(expected),
            "{text:?}: {message:?} does not start with {expected:?}"
        );
        assert!(!message.ends_with('.'), "{message}");
        assert!(
            message.chars().next().is_some_and(|c| !c.is_uppercase()),
            "{message}"
        );
    }
}

#[test]
fn the_status_decides_the_targets() {
    let notifications = Notifications {
        on_success: targets(&["file:ok.jsonl"]),
        on_failure: targets(&["file:bad.jsonl"]),
    };
    assert_eq!(
        targets_for(&notifications, Status::Success),
        ["file:ok.jsonl"]
    );
    for status in [Status::Partial, Status::Failed, Status::Refused] {
        assert_eq!(targets_for(&notifications, status), ["file:bad.jsonl"]);
        assert_eq!(status.as_str().parse::<Status>().expect("status"), status);
    }
    assert!("done".parse::<Status>().is_err());
}

#[test]
fn the_smtp_settings_parse_from_trainyard_yaml() {
    let config = crate::config::parse(
        "notify:\n  smtp:\n    host: relay.example.org\n    from: ci@example.org\n",
        Path::new("trainyard.yaml"),
    )
    .expect("valid");
    let smtp = config.notify.smtp.expect("smtp");
    assert_eq!(smtp.port, 25);
    assert!(!smtp.starttls);
    assert_eq!(smtp.credentials, None);

    let error = |text: &str| {
        crate::config::parse(text, Path::new("trainyard.yaml"))
            .expect_err(text)
            .to_string()
    };
    let e = error("notify:\n  smtp:\n    host: relay\n    from: ci@example.org\n    tls: yes\n");
    assert!(e.contains("notify.smtp.tls: unknown field `tls`"), "{e}");
    let e = error("notify:\n  smtp:\n    host: relay\n    from: nobody\n");
    assert!(
        e.contains("notify.smtp.from: notify.smtp.from `nobody` is not an email address"),
        "{e}"
    );
    let e = error(
        "notify:\n  smtp:\n    host: relay\n    from: ci@example.org\n    credentials: hunter2\n",
    );
    assert!(
        e.contains("notify.smtp.credentials: credential references must be"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
}
