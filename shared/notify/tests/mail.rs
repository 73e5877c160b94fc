//! Messages rendered, written to the outbox and sent through SES (moto), then read back.

// A test fails loudly, and reads what it wrote by position.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use chrono::{NaiveDate, Utc};
use cobro_domain::invoice::NewLine;
use cobro_domain::{Client, ClientId, Invoice, InvoiceId, NewClient, NewInvoice};
use cobro_notify::{Email, InvoiceIssued, Mailer, OutboxMailer, SesMailer};
use mail_parser::MessageParser;
use rust_decimal_macros::dec;

fn client(locale: &str, name: &str) -> Client {
    NewClient {
        name: name.into(),
        email: "pagos@panaderia.cl".into(),
        locale: Some(locale.into()),
        ..Default::default()
    }
    .validate(ClientId::generate(), Utc::now())
    .unwrap()
}

fn invoice(client: &Client) -> Invoice {
    NewInvoice {
        client_id: client.id.to_string(),
        currency: "CLP".into(),
        lines: vec![NewLine {
            description: "Diseño de logo".into(),
            quantity: dec!(3),
            unit_amount: dec!(49990),
        }],
        tax_rate: Some(dec!(19)),
        issue_date: Some(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 7),
        days_until_due: None,
        terms: None,
        send: true,
    }
    .validate(
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        &cobro_domain::Terms::default(),
    )
    .unwrap()
    .issue(
        InvoiceId::generate(),
        1,
        "F-",
        chrono_tz::America::Santiago,
        Utc::now(),
    )
}

const PAY_URL: &str = "https://pagar.example.cl/pay/AbCdEfGhIjKlMnOpQrStUvWxYz012345";

fn issued_email(c: &Client) -> (Invoice, Email) {
    let inv = invoice(c);
    let email = InvoiceIssued::new("Estudio Sur", c, &inv, PAY_URL)
        .email(
            "Estudio Sur <cobros@estudiosur.cl>",
            c,
            &format!("{}.issued", inv.id),
        )
        .unwrap();
    (inv, email)
}

/// The text and HTML parts of an RFC 5322 message, decoded.
fn parts(raw: &[u8]) -> (String, String, String) {
    let msg = MessageParser::default()
        .parse(raw)
        .expect("RFC 5322 message");
    (
        msg.subject().unwrap_or_default().to_string(),
        msg.body_text(0).expect("text part").into_owned(),
        msg.body_html(0).expect("html part").into_owned(),
    )
}

#[test]
fn spanish_message_says_what_how_much_when_where() {
    let c = client("es", "Panadería Sol");
    let (inv, email) = issued_email(&c);
    assert_eq!(
        email.subject,
        "Factura F-000001 de Estudio Sur: $178.464 con vencimiento el lunes, 7 de diciembre de 2026"
    );
    for body in [&email.text, &email.html] {
        assert!(body.contains("F-000001"), "what: number");
        assert!(body.contains("Diseño de logo"), "what: concept");
        assert!(body.contains("$178.464"), "how much");
        assert!(body.contains("lunes, 7 de diciembre de 2026"), "when");
        assert!(body.contains(PAY_URL), "where: link");
        assert!(
            body.contains(&inv.payment_reference.grouped()),
            "where: reference"
        );
    }
    assert!(email.text.contains("Impuesto (19 %): $28.494"));
    assert!(email.html.contains("Pagar ahora"));
}

#[test]
fn english_message_for_english_clients() {
    let c = client("en", "Sun Bakery");
    let (_, email) = issued_email(&c);
    assert_eq!(
        email.subject,
        "Invoice F-000001 from Estudio Sur: CLP 178,464 due Monday, December 7, 2026"
    );
    assert!(email.text.contains("Amount due: CLP 178,464"));
    assert!(email.html.contains("Pay now"));
}

#[test]
fn html_escapes_what_people_type() {
    let c = client("es", "<script>alert(1)</script>");
    let (_, email) = issued_email(&c);
    assert!(!email.html.contains("<script>"));
    assert!(email.html.contains("&#60;script&#62;"));
}

#[tokio::test]
async fn outbox_writes_one_rfc5322_file_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = OutboxMailer::new(dir.path());
    assert!(outbox.list().unwrap().is_empty());
    let c = client("es", "Panadería Sol");
    let (_, email) = issued_email(&c);
    let sent = outbox.send(&email).await.unwrap();
    let again = outbox.send(&email).await.unwrap();
    assert_eq!(sent, again, "the same message key is written once");
    let files = outbox.list().unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].file_name.ends_with(".issued.eml"));

    let raw = outbox.read(&files[0].file_name).unwrap().unwrap();
    let msg = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(
        msg.to().unwrap().first().unwrap().address(),
        Some("pagos@panaderia.cl")
    );
    assert!(msg.message_id().unwrap().ends_with("@estudiosur.cl"));
    let (subject, text, html) = parts(&raw);
    assert_eq!(subject, email.subject);
    assert!(text.contains("$178.464") && html.contains("$178.464"));
    assert_eq!(outbox.read("../../etc/passwd").unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_sends_a_key_once_under_simultaneous_sends_and_after_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let c = client("es", "Panadería Sol");
    let (_, email) = issued_email(&c);
    // 32 simultaneous sends of one message key: one file, one name for all.
    let sends = (0..32).map(|_| {
        let (outbox, email) = (OutboxMailer::new(dir.path()), email.clone());
        tokio::spawn(async move { outbox.send(&email).await.unwrap() })
    });
    let names: std::collections::BTreeSet<String> = futures_names(sends).await;
    let outbox = OutboxMailer::new(dir.path());
    let files = outbox.list().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(names.len(), 1);
    assert_eq!(names.first(), Some(&files[0].file_name));
    // The outbox holds messages only (scripts read every file in it).
    let entries: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, vec![files[0].file_name.clone()]);

    // An outbox written before the key index existed: its messages are not sent again.
    let old = tempfile::tempdir().unwrap();
    let outbox_dir = old.path().join("outbox");
    std::fs::create_dir_all(&outbox_dir).unwrap();
    let key: String = email
        .key
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ".-_".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let earlier = format!("20260101T000000.000000Z-{key}.eml");
    std::fs::write(outbox_dir.join(&earlier), b"Subject: earlier\r\n\r\n").unwrap();
    let outbox = OutboxMailer::new(old.path());
    assert_eq!(outbox.send(&email).await.unwrap().id, earlier);
    assert_eq!(outbox.list().unwrap().len(), 1);
    // A different key is a new message.
    let mut other = email.clone();
    other.key.push_str("-reminder");
    outbox.send(&other).await.unwrap();
    assert_eq!(outbox.list().unwrap().len(), 2);
    // Someone clears the outbox folder: sending works again and writes the message anew.
    std::fs::remove_dir_all(&outbox_dir).unwrap();
    let again = outbox.send(&email).await.unwrap();
    assert_ne!(again.id, earlier);
    assert_eq!(outbox.list().unwrap().len(), 1);
}

/// SES on moto's server, with the business's domain verified; and the server's URL.
async fn ses_on_moto() -> (SesMailer, String) {
    let endpoint = cobro_store::testing::endpoint();
    let ses_client = aws_sdk_sesv2::Client::new(&cobro_store::testing::sdk_config(&endpoint).await);
    ses_client
        .create_email_identity()
        .email_identity("estudiosur.cl")
        .send()
        .await
        .unwrap();
    (SesMailer::new(ses_client, None), endpoint)
}

/// The raw message SES sent as `id`, from moto's own record of sent messages.
async fn ses_raw(endpoint: &str, id: &str) -> String {
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .expect("message recorded by SES")["raw_data"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn futures_names(
    sends: impl Iterator<Item = tokio::task::JoinHandle<cobro_notify::Sent>>,
) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for s in sends.collect::<Vec<_>>() {
        names.insert(s.await.unwrap().id);
    }
    names
}

#[tokio::test]
async fn ses_sends_the_same_message_and_moto_has_it() {
    let (ses, endpoint) = ses_on_moto().await;

    let c = client("es", "Panadería Sol");
    let (_, email) = issued_email(&c);
    let sent = ses.send(&email).await.unwrap();
    assert!(!sent.id.is_empty());

    // Read it back from moto's own record of sent messages.
    let raw = ses_raw(&endpoint, &sent.id).await;
    let parsed = MessageParser::default().parse(raw.as_bytes()).unwrap();
    assert_eq!(
        parsed.message_id(),
        Some(format!("{}@estudiosur.cl", email.key).as_str())
    );
    let (subject, text, html) = parts(raw.as_bytes());
    assert_eq!(subject, email.subject);
    assert_eq!(text.replace("\r\n", "\n").trim_end(), email.text.trim_end());
    assert!(html.contains("$178.464") && html.contains(PAY_URL));

    // An unverified sender is refused, and the error says so.
    let mut bad = email.clone();
    bad.from = "nobody@unverified.example".into();
    assert!(ses.send(&bad).await.is_err());
}

/// Every reminder, in both languages: what, how much, when, where, and what comes next.
#[test]
fn reminders_say_what_how_much_when_where_and_next() {
    use cobro_notify::{Reminder, ReminderFacts, Tone};
    let day = |s: &str| s.parse::<NaiveDate>().unwrap();
    for (locale, name) in [("es", "Ana"), ("en", "Ann")] {
        let c = client(locale, name);
        let inv = invoice(&c);
        let due = inv.total;
        let fee =
            cobro_domain::Money::new(rust_decimal_macros::dec!(5000), due.currency()).unwrap();
        let zero = cobro_domain::Money::zero(due.currency());
        let cases = [
            (
                Tone::Upcoming,
                inv.due_date - chrono::Days::new(7),
                None,
                None,
            ),
            (Tone::DueToday, inv.due_date, None, None),
            (
                Tone::Overdue,
                inv.due_date + chrono::Days::new(3),
                None,
                None,
            ),
            (
                Tone::FeeNotice,
                inv.due_date + chrono::Days::new(3),
                Some((&fee, day("2026-12-10"))),
                None,
            ),
            (
                Tone::Final,
                inv.due_date + chrono::Days::new(20),
                None,
                Some(day("2027-02-05")),
            ),
        ];
        let mut subjects = std::collections::HashSet::new();
        for (tone, today, fee, escalation_date) in cases {
            let m = Reminder::new(ReminderFacts {
                sender: &cobro_notify::Sender {
                    name: "Estudio Sur".into(),
                    ..Default::default()
                },
                client: &c,
                invoice: &inv,
                amount_due: &due,
                late_fees: &zero,
                today,
                pay_url: "https://pagar.example.cl/pay/tok",
                tone,
                fee,
                escalation_date,
                arrangement: None,
                due_date: inv.due_date,
                discount: None,
            });
            let e = m
                .email("Estudio Sur <cobros@estudiosur.cl>", &c, "inv_x.reminder.3")
                .unwrap();
            assert!(
                subjects.insert(e.subject.clone()),
                "each tone its own subject"
            );
            for text in [&e.text, &e.html] {
                for want in [
                    inv.number.as_str(),
                    inv.concept(),
                    "https://pagar.example.cl/pay/tok",
                    &inv.payment_reference.grouped(),
                ] {
                    assert!(text.contains(want), "{tone:?} {locale}: {want} missing");
                }
                assert!(text.contains(&due.format(c.locale)));
                assert!(text.contains(&c.locale.long_date(inv.due_date)));
            }
            if tone == Tone::FeeNotice {
                let (fee, date) = match c.locale {
                    cobro_domain::Locale::Es => ("$5.000", "jueves, 10 de diciembre de 2026"),
                    cobro_domain::Locale::En => ("CLP 5,000", "Thursday, December 10, 2026"),
                };
                assert!(e.text.contains(fee) && e.text.contains(date), "{}", e.text);
            }
            if tone == Tone::Final {
                assert!(
                    e.text.contains(&c.locale.long_date(day("2027-02-05"))),
                    "{}",
                    e.text
                );
            }
            assert!(e.to_rfc5322().is_ok());
        }
        arrangement_messages(&c, &inv, &due, &zero, &mut subjects);
    }
}

/// Promise and plan confirmations, their reminders and the extension notice say what was
/// agreed: the amount, the date(s), the schedule, the reason.
fn arrangement_messages(
    c: &cobro_domain::Client,
    inv: &cobro_domain::Invoice,
    due: &cobro_domain::Money,
    zero: &cobro_domain::Money,
    subjects: &mut std::collections::HashSet<String>,
) {
    use cobro_notify::{Arrangement, Reminder, ReminderFacts, Tone};
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let l = c.locale;
    let promised =
        cobro_domain::Money::new(rust_decimal_macros::dec!(60000), due.currency()).unwrap();
    let plan = cobro_domain::arrangement::split(*due, 3, day("2027-01-15")).unwrap();
    let cases = [
        (
            Tone::PromiseConfirmed,
            Arrangement::Promise {
                amount: &promised,
                date: day("2026-12-10"),
            },
        ),
        (
            Tone::PromiseDue,
            Arrangement::Promise {
                amount: &promised,
                date: day("2026-12-10"),
            },
        ),
        (
            Tone::PlanConfirmed,
            Arrangement::Plan {
                instalments: &plan,
                current: None,
            },
        ),
        (
            Tone::InstalmentDue,
            Arrangement::Plan {
                instalments: &plan,
                current: Some(2),
            },
        ),
        (
            Tone::Extended,
            Arrangement::Extension {
                from: inv.due_date,
                to: day("2026-12-22"),
                message: Some("Como conversamos, esperamos el pago de tu cliente."),
            },
        ),
    ];
    for (tone, arrangement) in cases {
        let m = Reminder::new(ReminderFacts {
            sender: &cobro_notify::Sender {
                name: "Estudio Sur".into(),
                ..Default::default()
            },
            client: c,
            invoice: inv,
            amount_due: due,
            late_fees: zero,
            today: day("2026-12-04"),
            pay_url: "https://pagar.example.cl/pay/tok",
            tone,
            fee: None,
            escalation_date: None,
            arrangement: Some(arrangement),
            due_date: inv.due_date,
            discount: None,
        });
        let e = m
            .email("Estudio Sur <cobros@estudiosur.cl>", c, "inv_x.promise")
            .unwrap();
        assert!(
            subjects.insert(e.subject.clone()),
            "each tone its own subject"
        );
        let wants: Vec<String> = match arrangement {
            Arrangement::Promise { amount, date } => vec![amount.format(l), l.long_date(date)],
            Arrangement::Plan {
                instalments,
                current: None,
            } => instalments
                .iter()
                .flat_map(|i| [i.amount.format(l), l.long_date(i.due_date)])
                .collect(),
            Arrangement::Plan {
                instalments,
                current: Some(k),
            } => {
                let i = &instalments[k as usize - 1];
                vec![i.amount.format(l), l.long_date(i.due_date)]
            }
            Arrangement::Extension { from, to, message } => {
                let mut wants = vec![l.long_date(from), l.long_date(to)];
                wants.extend(message.map(str::to_string));
                wants
            }
        };
        for text in [&e.text, &e.html] {
            for want in wants
                .iter()
                .map(String::as_str)
                .chain([inv.number.as_str(), "https://pagar.example.cl/pay/tok"])
            {
                assert!(
                    text.contains(want),
                    "{tone:?} {l:?}: {want} missing in {text}"
                );
            }
        }
        assert!(e.to_rfc5322().is_ok());
    }
    // The three instalments sum to what is due.
    let sum = plan
        .iter()
        .try_fold(cobro_domain::Money::zero(due.currency()), |a, i| {
            a.checked_add(&i.amount)
        })
        .unwrap();
    assert_eq!(&sum, due);
}

/// A client as stored before names were checked at the edge: the name holds anything.
fn stored_client(name: &str) -> Client {
    let mut c = client("es", "Panadería Sol");
    c.name = name.to_string();
    c
}

/// The headers of a message, by name, in order, and its one recipient.
fn header_names_and_to(raw: &[u8]) -> (Vec<String>, Vec<(Option<String>, String)>) {
    let msg = MessageParser::default()
        .parse(raw)
        .expect("RFC 5322 message");
    let names = msg
        .headers()
        .iter()
        .map(|h| h.name().to_ascii_lowercase())
        .collect();
    let to = msg
        .to()
        .map(|to| {
            to.iter()
                .map(|a| {
                    (
                        a.name().map(str::to_string),
                        a.address().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (names, to)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Whatever a stored name or subject holds (CR, LF, NUL, bidi overrides, `Bcc:`, very
    /// long), the message builds, parses back with the same headers as a plain one and
    /// exactly one To, the stored address, under the name made one line.
    #[test]
    fn no_stored_name_or_subject_breaks_a_header(
        name in proptest::string::string_regex("(?s).{0,300}").unwrap(),
        subject in proptest::prelude::any::<String>(),
        injected in proptest::prelude::any::<bool>(),
    ) {
        let name = if injected { format!("{name}\r\nBcc: x@evil.example\r\n") } else { name };
        let c = stored_client(&name);
        let (_, mut email) = issued_email(&c);
        email.subject = subject.clone();
        let raw = email.to_rfc5322().expect("every stored name builds a message");
        let (_, plain) = issued_email(&client("es", "Panadería Sol"));
        let (expected, _) = header_names_and_to(&plain.to_rfc5322().unwrap());
        let (names, to) = header_names_and_to(&raw);
        proptest::prop_assert_eq!(names, expected);
        proptest::prop_assert_eq!(to.len(), 1);
        proptest::prop_assert_eq!(to[0].1.as_str(), "pagos@panaderia.cl");
        let shown = cobro_domain::validation::one_line(&name);
        proptest::prop_assert_eq!(
            to[0].0.as_deref().map(str::trim).filter(|n| !n.is_empty()),
            (!shown.is_empty()).then_some(shown.as_str())
        );
        let msg = MessageParser::default().parse(&raw[..]).unwrap();
        let safe_subject = cobro_domain::validation::one_line(&subject);
        proptest::prop_assert_eq!(msg.subject().unwrap_or_default().trim(), safe_subject.as_str());
    }
}

#[tokio::test]
async fn a_name_stored_with_a_line_break_is_mailed_safely_by_outbox_and_ses() {
    let c = stored_client("Evil\r\nBcc: someone@example.com\0");
    let (_, email) = issued_email(&c);
    let check = |raw: &[u8]| {
        let (names, to) = header_names_and_to(raw);
        assert!(!names.iter().any(|n| n == "bcc"), "{names:?}");
        assert_eq!(
            to,
            vec![(
                Some("Evil Bcc: someone@example.com".to_string()),
                "pagos@panaderia.cl".to_string()
            )]
        );
    };

    let dir = tempfile::tempdir().unwrap();
    let outbox = OutboxMailer::new(dir.path());
    let sent = outbox.send(&email).await.unwrap();
    check(&outbox.read(&sent.id).unwrap().unwrap());

    let (ses, endpoint) = ses_on_moto().await;
    let sent = ses.send(&email).await.unwrap();
    let raw = ses_raw(&endpoint, &sent.id).await;
    check(raw.as_bytes());
}
