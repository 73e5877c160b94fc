//! Provider webhooks: verified once, applied once, in any order, through store faults; the unmatched queue.

use super::helpers::*;

/// A Stripe payment pays the invoice once, whatever the number of deliveries, and the
/// client gets one receipt.
async fn stripe_payment_applies_once(t: TestApp) {
    let (email, inv) = new_clp_invoice(&t, "stripe").await;
    let id = inv["id"].as_str().unwrap();
    let event = pi_succeeded("evt_pay_1", &format!("pi_{id}"), id, 178_464);
    let a = t.stripe(&event, None).await;
    assert_eq!(
        (a.status, a.body["outcome"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{}",
        a.raw
    );
    let again = t.stripe(&event, None).await;
    assert_eq!(
        (again.status, again.body["outcome"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    let now = t.invoice(id).await;
    assert_eq!(
        (
            now["status"].as_str(),
            now["amount_due"].as_str(),
            now["amount_paid"].as_str()
        ),
        (Some("paid"), Some("0"), Some("178464"))
    );
    assert_eq!(now["ledger"].as_array().unwrap().len(), 2);
    // The same payment reported by another event (checkout.session.completed) adds nothing.
    let session = stripe_event(
        "evt_cs_1",
        "checkout.session.completed",
        json!({"id": "cs_1", "payment_intent": format!("pi_{id}"),
        "amount_total": 178_464, "currency": "clp", "payment_status": "paid", "metadata": {"invoice_id": id}}),
    );
    assert_eq!(t.stripe(&session, None).await.body["outcome"], "duplicate");
    assert_eq!(t.invoice(id).await["ledger"].as_array().unwrap().len(), 2);

    let receipts: Vec<String> = t.mails_to(&email).await;
    assert_eq!(receipts.len(), 1, "one receipt");
    let msg = MessageParser::default()
        .parse(receipts[0].as_bytes())
        .unwrap();
    assert!(
        msg.subject()
            .unwrap()
            .contains("Recibimos tu pago de $178.464"),
        "{:?}",
        msg.subject()
    );
    assert!(
        msg.body_text(0)
            .unwrap()
            .contains("está pagada por completo")
    );

    // Refunded in two steps (amount_refunded is cumulative), then a lost dispute on nothing left.
    let charge = |evt: &str, refunded: i64| {
        stripe_event(
            evt,
            "charge.refunded",
            json!({"id": "ch_1", "payment_intent": format!("pi_{id}"),
        "amount_refunded": refunded, "currency": "clp"}),
        )
    };
    assert_eq!(
        t.stripe(&charge("evt_r1", 50_000), None).await.body["outcome"],
        "applied"
    );
    assert_eq!(
        t.stripe(&charge("evt_r2", 78_464), None).await.body["outcome"],
        "applied"
    );
    assert_eq!(
        t.stripe(&charge("evt_r1_late", 50_000), None).await.body["outcome"],
        "duplicate"
    );
    let now = t.invoice(id).await;
    assert_eq!(
        (now["status"].as_str(), now["amount_due"].as_str()),
        (Some("partially_paid"), Some("78464"))
    );
}

/// 50 simultaneous deliveries of one event change the ledger once; 20 different events
/// at once on one invoice all land (no lost update).
async fn simultaneous_deliveries(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "burst").await;
    let id = inv["id"].as_str().unwrap().to_string();
    let t = Arc::new(t);
    let event = pi_succeeded("evt_burst", "pi_burst", &id, 1_000);
    let answers = futures::future::join_all((0..50).map(|_| {
        let (t, e) = (t.clone(), event.clone());
        async move { t.stripe(&e, None).await }
    }))
    .await;
    let applied = answers
        .iter()
        .filter(|a| a.body["outcome"] == "applied")
        .count();
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "all acknowledged"
    );
    assert_eq!(applied, 1);
    assert_eq!(t.invoice(&id).await["amount_paid"], "1000");

    let many = futures::future::join_all((0..20).map(|i| {
        let (t, id) = (t.clone(), id.clone());
        async move {
            t.stripe(
                &pi_succeeded(&format!("evt_m{i}"), &format!("pi_m{i}"), &id, 100),
                None,
            )
            .await
        }
    }))
    .await;
    assert!(
        many.iter().all(|a| a.body["outcome"] == "applied"),
        "{:?}",
        many.iter().map(|a| a.raw.clone()).collect::<Vec<_>>()
    );
    let now = t.invoice(&id).await;
    assert_eq!(now["amount_paid"], "3000");
    assert_eq!(now["ledger"].as_array().unwrap().len(), 22);
}

/// Standard Webhooks: by reference, out of order, unknown and wrong-currency payments.
async fn standard_payments_and_the_unmatched_queue(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "std").await;
    let id = inv["id"].as_str().unwrap();
    let reference = inv["payment_reference_display"].as_str().unwrap();
    // A refund that arrives before its payment, then the payment: same result as in order.
    let refund = json!({"type": "payment.refunded", "data": {"invoice_id": id, "payment_id": "tr_1", "refund_id": "re_1", "amount": "8464", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_refund", &refund).await.body["outcome"],
        "applied"
    );
    let pay = json!({"type": "payment.succeeded", "data": {"payment_reference": reference.to_lowercase(), "payment_id": "tr_1", "amount": "100000", "currency": "CLP"}});
    assert_eq!(t.standard("msg_pay", &pay).await.body["outcome"], "applied");
    let now = t.invoice(id).await;
    assert_eq!(
        (now["status"].as_str(), now["amount_due"].as_str()),
        (Some("partially_paid"), Some("86928"))
    );

    let unknown = json!({"type": "payment.succeeded", "data": {"payment_reference": "RF18 5390 0754 7034", "payment_id": "tr_2", "amount": "5000", "currency": "CLP"}});
    assert_eq!(
        t.standard("msg_unknown", &unknown).await.body["outcome"],
        "unmatched"
    );
    assert_eq!(
        t.standard("msg_unknown", &unknown).await.body["outcome"],
        "duplicate"
    );
    let usd = json!({"type": "payment.succeeded", "data": {"invoice_id": id, "payment_id": "tr_3", "amount": "10.00", "currency": "USD"}});
    assert_eq!(
        t.standard("msg_usd", &usd).await.body["outcome"],
        "unmatched"
    );
    let ignored = json!({"type": "invoice.viewed", "data": {}});
    assert_eq!(
        t.standard("msg_view", &ignored).await.body["outcome"],
        "ignored"
    );

    let queue = t.get("/v1/unmatched?limit=100").await.body;
    let mine: Vec<&Value> = queue["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["event_id"] == "msg_unknown" || u["event_id"] == "msg_usd")
        .collect();
    assert_eq!(mine.len(), 2, "{queue}");
    assert!(mine.iter().any(|u| u["reason"] == "currency_mismatch" && u["fact"]["amount"]["amount"] == "10.00"));
    assert!(
        mine.iter()
            .any(|u| u["reason"] == "unknown_invoice" && u["target"] == "RF18 5390 0754 7034")
    );
    assert_eq!(
        t.invoice(id).await["amount_due"],
        "86928",
        "nothing else touched the invoice"
    );

    // A person applies them: the CLP one to this invoice; the USD one cannot go on it.
    let find = |event: &str| {
        mine.iter().find(|u| u["event_id"] == event).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (unknown_id, usd_id) = (find("msg_unknown"), find("msg_usd"));
    let apply = |uid: &str| format!("/v1/unmatched/{uid}/apply");
    let a = t
        .post(
            &apply(&unknown_id),
            &json!({"invoice_id": id}),
            Some("apply-1"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.body["amount_due"], "81928");
    assert!(
        t.post(
            &apply(&unknown_id),
            &json!({"invoice_id": id}),
            Some("apply-1")
        )
        .await
        .replayed
    );
    assert_eq!(
        t.post(&apply(&unknown_id), &json!({"invoice_id": id}), None)
            .await
            .status,
        StatusCode::CONFLICT
    );
    let a = t
        .post(&apply(&usd_id), &json!({"invoice_id": id}), None)
        .await;
    assert_eq!(
        (a.status, a.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invoice_id"))
    );
    let a = t
        .post(
            &apply(&usd_id),
            &json!({"invoice_id": "inv_aaaaaaaaaaaaaaaaaaaaaaaaaa"}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = t
        .post(
            &apply("unm_aaaaaaaaaaaaaaaaaaaaaaaaaa"),
            &json!({"invoice_id": id}),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let queue = t.get("/v1/unmatched?limit=100").await.body;
    let ids: Vec<&str> = queue["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&unknown_id.as_str()) && ids.contains(&usd_id.as_str()));
    assert_eq!(t.invoice(id).await["amount_due"], "81928");
}

/// Every forgery and malformed delivery is refused with one generic 400, and changes nothing.
async fn forged_and_malformed_webhooks_change_nothing(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "forged").await;
    let id = inv["id"].as_str().unwrap();
    let event = pi_succeeded("evt_forged", "pi_forged", id, 178_464);
    let raw = event.to_string();
    let now = chrono::Utc::now().timestamp();
    let good = cobro_providers::stripe::sign(raw.as_bytes(), STRIPE_SECRET, now);
    let other_body = cobro_providers::stripe::sign(b"{}", STRIPE_SECRET, now);
    let wrong_secret = cobro_providers::stripe::sign(raw.as_bytes(), "whsec_wrong", now);
    let old = cobro_providers::stripe::sign(raw.as_bytes(), STRIPE_SECRET, now - 600);
    let future = cobro_providers::stripe::sign(raw.as_bytes(), STRIPE_SECRET, now + 600);
    let truncated = good[..good.len() - 2].to_string();
    let mut bodies = Vec::new();
    for header in [
        other_body,
        wrong_secret,
        old,
        future,
        truncated,
        format!("t={now},v1="),
        "garbage".into(),
        String::new(),
    ] {
        let a = t.stripe(&event, Some(header.clone())).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{header}");
        bodies.push(a.raw);
    }
    let a = t
        .send(
            t.http
                .post(format!("{}/webhooks/stripe", t.base))
                .body(raw.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "missing header");
    bodies.push(a.raw);
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one generic answer: {bodies:?}"
    );
    assert_eq!(t.invoice(id).await["status"], "open");

    // Valid signatures over bad content.
    let signed = |body: String| {
        let h = cobro_providers::stripe::sign(
            body.as_bytes(),
            STRIPE_SECRET,
            chrono::Utc::now().timestamp(),
        );
        t.http
            .post(format!("{}/webhooks/stripe", t.base))
            .header("stripe-signature", h)
            .body(body)
    };
    assert_eq!(
        t.send(signed("{not json".into())).await.status,
        StatusCode::BAD_REQUEST
    );
    let negative = pi_succeeded("evt_neg", "pi_neg", id, -5).to_string();
    assert_eq!(
        t.send(signed(negative)).await.status,
        StatusCode::BAD_REQUEST
    );
    let mut zzz = pi_succeeded("evt_zzz", "pi_zzz", id, 5);
    zzz["data"]["object"]["currency"] = json!("zzz");
    assert_eq!(
        t.send(signed(zzz.to_string())).await.status,
        StatusCode::BAD_REQUEST
    );
    let mut text = pi_succeeded("evt_txt", "pi_txt", id, 5);
    text["data"]["object"]["amount_received"] = json!("mucho");
    assert_eq!(
        t.send(signed(text.to_string())).await.status,
        StatusCode::BAD_REQUEST
    );
    let big = format!("{{\"pad\":\"{}\"}}", "a".repeat(256 * 1024));
    assert_eq!(
        t.send(signed(big)).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let a = t
        .send(
            t.http
                .post(format!("{}/webhooks/paypal", t.base))
                .body("{}"),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // An unknown invoice is not an error for the provider: queued for a person.
    let lost = pi_succeeded("evt_lost", "pi_lost", "inv_aaaaaaaaaaaaaaaaaaaaaaaaaa", 5);
    assert_eq!(t.stripe(&lost, None).await.body["outcome"], "unmatched");
    assert_eq!(
        t.invoice(id).await["ledger"].as_array().unwrap().len(),
        1,
        "nothing written on the invoice"
    );
}

/// Stripe refunds and disputes name no invoice. Arriving before their payment they wait in
/// the queue, then follow the payment: reversed order ends where the right order ends.
async fn out_of_order_events_converge(t: TestApp) {
    let mut finals = Vec::new();
    for reversed in [false, true] {
        let (_, inv) = new_clp_invoice(&t, "order").await;
        let id = inv["id"].as_str().unwrap();
        let pi = format!("pi_order_{id}");
        let tag = if reversed { "rev" } else { "fwd" };
        let pay = pi_succeeded(&format!("evt_{tag}_pay_{id}"), &pi, id, 178_464);
        let refund = stripe_event(
            &format!("evt_{tag}_ref_{id}"),
            "charge.refunded",
            json!({"id": format!("ch_{id}"),
            "payment_intent": pi, "amount_refunded": 10_000, "currency": "clp"}),
        );
        let dispute = stripe_event(
            &format!("evt_{tag}_dp_{id}"),
            "charge.dispute.created",
            json!({"id": format!("dp_{id}"),
            "charge": format!("ch_{id}"), "payment_intent": pi, "amount": 168_464, "currency": "clp", "status": "needs_response"}),
        );
        let mut events = vec![pay, refund, dispute];
        if reversed {
            events.reverse();
        }
        let outcomes: Vec<String> =
            futures::future::join_all(events.iter().map(|e| t.stripe(e, None)))
                .await
                .into_iter()
                .map(|a| a.body["outcome"].as_str().unwrap_or(&a.raw).to_string())
                .collect();
        // Sequential delivery in the chosen order (join_all above ran them concurrently;
        // deliver again one by one: duplicates change nothing).
        for e in &events {
            assert_eq!(t.stripe(e, None).await.status, StatusCode::OK);
        }
        let now = t.invoice(id).await;
        let queue = t.get("/v1/unmatched?limit=100").await.body;
        assert!(
            !queue["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["fact"]["payment_id"] == pi.as_str()),
            "{outcomes:?}: nothing left waiting"
        );
        finals.push(json!([
            now["status"],
            now["amount_paid"],
            now["amount_refunded"],
            now["amount_on_hold"],
            now["amount_due"]
        ]));
    }
    assert_eq!(
        finals[0],
        json!(["disputed", "178464", "10000", "168464", "10000"])
    );
    assert_eq!(finals[0], finals[1]);

    // Strictly one after the other, refund and dispute first: parked, then settled.
    let (_, inv) = new_clp_invoice(&t, "order-seq").await;
    let id = inv["id"].as_str().unwrap();
    let pi = format!("pi_seq_{id}");
    let dispute = stripe_event(
        &format!("evt_seq_dp_{id}"),
        "charge.dispute.created",
        json!({"id": format!("dps_{id}"),
        "charge": format!("chs_{id}"), "payment_intent": pi, "amount": 178_464, "currency": "clp", "status": "needs_response"}),
    );
    assert_eq!(t.stripe(&dispute, None).await.body["outcome"], "unmatched");
    assert_eq!(t.invoice(id).await["status"], "open");
    assert_eq!(
        t.stripe(
            &pi_succeeded(&format!("evt_seq_pay_{id}"), &pi, id, 178_464),
            None
        )
        .await
        .body["outcome"],
        "applied"
    );
    assert_eq!(t.invoice(id).await["status"], "disputed");
}

/// Mercado Pago: the notification is verified, the payment fetched, its state settled once.
async fn mercadopago_payments(t: TestApp) {
    let (_, inv) = new_clp_invoice(&t, "mp").await;
    let id = inv["id"].as_str().unwrap();
    let pid = format!(
        "{}",
        9_000_000 + (inv["number"].as_str().unwrap()[2..].parse::<u64>().unwrap())
    );
    // Not yet visible at the API: 503, nothing recorded, so Mercado Pago retries.
    let a = t.mercadopago(1, &pid, &pid, "payment").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.raw);
    t.mp_payments.lock().unwrap().insert(pid.clone(), json!({"id": pid.parse::<u64>().unwrap(), "status": "approved",
        "status_detail": "accredited", "currency_id": "CLP", "transaction_amount": 178464, "transaction_amount_refunded": 0,
        "external_reference": id, "date_approved": "2026-11-23T10:00:00.000-03:00"}));
    assert_eq!(
        t.mercadopago(1, &pid, &pid, "payment").await.body["outcome"],
        "applied"
    );
    assert_eq!(
        t.mercadopago(1, &pid, &pid, "payment").await.body["outcome"],
        "duplicate"
    );
    assert_eq!(
        t.mercadopago(2, &pid, &pid, "payment").await.body["outcome"],
        "duplicate",
        "same state, new notification"
    );
    assert_eq!(t.invoice(id).await["status"], "paid");
    // A partial refund shows up in the payment's state.
    t.mp_payments.lock().unwrap().get_mut(&pid).unwrap()["transaction_amount_refunded"] =
        json!(78464);
    assert_eq!(
        t.mercadopago(3, &pid, &pid, "payment").await.body["outcome"],
        "applied"
    );
    let now = t.invoice(id).await;
    assert_eq!(
        (now["status"].as_str(), now["amount_due"].as_str()),
        (Some("partially_paid"), Some("78464"))
    );
    // Other topics are acknowledged; a body naming another payment than the signed one is refused.
    assert_eq!(
        t.mercadopago(4, &pid, &pid, "merchant_order").await.body["outcome"],
        "ignored"
    );
    assert_eq!(
        t.mercadopago(5, &pid, "123", "payment").await.status,
        StatusCode::BAD_REQUEST
    );
    let forged = t
        .send(
            t.http
                .post(format!("{}/webhooks/mercadopago?data.id={pid}", t.base))
                .header("x-signature", "ts=1,v1=00")
                .header("x-request-id", "r")
                .body("{}"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    assert_eq!(t.invoice(id).await["ledger"].as_array().unwrap().len(), 3);
}

/// Where the fault strikes: at the k-th write, before it happens or after it committed
/// (the answer lost on its way back).
#[derive(Clone, Copy, Debug)]
enum Fault {
    Before(usize),
    After(usize),
}

/// The real store, failing one chosen write.
struct FaultyStore {
    inner: Arc<dyn Store>,
    fault: std::sync::Mutex<Option<Fault>>,
    writes: std::sync::atomic::AtomicUsize,
}

impl FaultyStore {
    async fn write<T>(
        &self,
        f: impl std::future::Future<Output = cobro_store::Result<T>>,
    ) -> cobro_store::Result<T> {
        let n = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let fault = *self.fault.lock().unwrap();
        let injected = || cobro_store::StoreError::Backend("injected fault".into());
        match fault {
            Some(Fault::Before(k)) if k == n => Err(injected()),
            Some(Fault::After(k)) if k == n => f.await.and(Err(injected())),
            _ => f.await,
        }
    }

    fn arm(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap() = fault;
        self.writes.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Store for FaultyStore {
    async fn create_user(&self, u: &cobro_domain::User) -> cobro_store::Result<()> {
        self.inner.create_user(u).await
    }
    async fn user(
        &self,
        id: &cobro_domain::UserId,
    ) -> cobro_store::Result<Option<cobro_domain::User>> {
        self.inner.user(id).await
    }
    async fn user_by_email(&self, e: &str) -> cobro_store::Result<Option<cobro_domain::User>> {
        self.inner.user_by_email(e).await
    }
    async fn list_users(&self) -> cobro_store::Result<Vec<cobro_domain::User>> {
        self.inner.list_users().await
    }
    async fn update_user(&self, u: &cobro_domain::User) -> cobro_store::Result<bool> {
        self.inner.update_user(u).await
    }
    async fn count_sign_in_link(
        &self,
        a: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<bool> {
        self.inner.count_sign_in_link(a, now).await
    }
    async fn put_sign_in_token(&self, t: &cobro_domain::SignInToken) -> cobro_store::Result<()> {
        self.inner.put_sign_in_token(t).await
    }
    async fn use_sign_in_token(
        &self,
        d: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<Option<cobro_domain::SignInToken>> {
        self.inner.use_sign_in_token(d, now).await
    }
    async fn put_session(&self, s: &cobro_domain::Session) -> cobro_store::Result<()> {
        self.inner.put_session(s).await
    }
    async fn session(&self, d: &str) -> cobro_store::Result<Option<cobro_domain::Session>> {
        self.inner.session(d).await
    }
    async fn touch_session(
        &self,
        d: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<()> {
        self.inner.touch_session(d, at).await
    }
    async fn delete_session(&self, d: &str) -> cobro_store::Result<()> {
        self.inner.delete_session(d).await
    }
    async fn record_audit(&self, r: &cobro_domain::AuditRecord) -> cobro_store::Result<()> {
        self.write(self.inner.record_audit(r)).await
    }
    async fn audit_log(
        &self,
        f: &cobro_store::AuditFilter,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_domain::AuditRecord>> {
        self.inner.audit_log(f, p).await
    }
    async fn put_api_key(&self, k: &cobro_store::ApiKey) -> cobro_store::Result<()> {
        self.inner.put_api_key(k).await
    }
    async fn api_key_by_digest(&self, d: &str) -> cobro_store::Result<Option<cobro_store::ApiKey>> {
        self.inner.api_key_by_digest(d).await
    }
    async fn list_api_keys(&self) -> cobro_store::Result<Vec<cobro_store::ApiKey>> {
        self.inner.list_api_keys().await
    }
    async fn revoke_api_key(
        &self,
        id: &cobro_domain::ApiKeyId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<bool> {
        self.inner.revoke_api_key(id, at).await
    }
    async fn update_client(&self, c: &cobro_domain::Client) -> cobro_store::Result<bool> {
        self.write(self.inner.update_client(c)).await
    }
    async fn idempotency_record(
        &self,
        k: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<Option<cobro_store::IdempotencyRecord>> {
        self.inner.idempotency_record(k, now).await
    }
    async fn create_client(
        &self,
        c: &cobro_domain::Client,
        i: Option<&cobro_store::IdempotencyRecord>,
    ) -> cobro_store::Result<()> {
        self.inner.create_client(c, i).await
    }
    async fn client(
        &self,
        id: &cobro_domain::ClientId,
    ) -> cobro_store::Result<Option<cobro_domain::Client>> {
        self.inner.client(id).await
    }
    async fn client_by_tax_key(
        &self,
        key: &str,
    ) -> cobro_store::Result<Option<cobro_domain::ClientId>> {
        self.inner.client_by_tax_key(key).await
    }
    async fn list_clients(
        &self,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_domain::Client>> {
        self.inner.list_clients(p).await
    }
    async fn last_invoice_seq(&self) -> cobro_store::Result<u64> {
        self.inner.last_invoice_seq().await
    }
    async fn create_invoice(&self, w: &cobro_store::NewInvoiceWrite) -> cobro_store::Result<()> {
        self.inner.create_invoice(w).await
    }
    async fn invoice(
        &self,
        id: &cobro_domain::InvoiceId,
    ) -> cobro_store::Result<Option<cobro_store::StoredInvoice>> {
        self.inner.invoice(id).await
    }
    async fn client_invoices(
        &self,
        c: &cobro_domain::ClientId,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_domain::Invoice>> {
        self.inner.client_invoices(c, p).await
    }
    async fn list_invoices(
        &self,
        f: &cobro_store::InvoiceFilter,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_store::ListedInvoice>> {
        self.inner.list_invoices(f, p).await
    }
    async fn receivables(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_store::StoredInvoice>> {
        self.inner.receivables(since, p).await
    }
    async fn invoice_by_payment_reference(
        &self,
        r: &cobro_domain::PaymentReference,
    ) -> cobro_store::Result<Option<cobro_domain::InvoiceId>> {
        self.inner.invoice_by_payment_reference(r).await
    }
    async fn pay_token(&self, d: &str) -> cobro_store::Result<Option<cobro_store::PayToken>> {
        self.inner.pay_token(d).await
    }
    async fn append_entries(&self, w: &cobro_store::LedgerWrite) -> cobro_store::Result<()> {
        self.write(self.inner.append_entries(w)).await
    }
    async fn record_event(
        &self,
        e: &cobro_store::EventRecord,
        u: Option<&cobro_store::Unmatched>,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.record_event(e, u)).await
    }
    async fn event(
        &self,
        p: &str,
        id: &str,
    ) -> cobro_store::Result<Option<cobro_store::EventRecord>> {
        self.inner.event(p, id).await
    }
    async fn invoice_for_payment(
        &self,
        s: &str,
        p: &str,
    ) -> cobro_store::Result<Option<cobro_domain::InvoiceId>> {
        self.inner.invoice_for_payment(s, p).await
    }
    async fn unmatched(
        &self,
        id: &cobro_domain::UnmatchedId,
    ) -> cobro_store::Result<Option<cobro_store::Unmatched>> {
        self.inner.unmatched(id).await
    }
    async fn unmatched_for_payment(
        &self,
        s: &str,
        p: &str,
    ) -> cobro_store::Result<Vec<cobro_store::Unmatched>> {
        self.inner.unmatched_for_payment(s, p).await
    }
    async fn list_unmatched(
        &self,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_store::Unmatched>> {
        self.inner.list_unmatched(p).await
    }
    async fn put_pay_token(&self, t: &cobro_store::PayToken) -> cobro_store::Result<()> {
        self.write(self.inner.put_pay_token(t)).await
    }
    async fn revoke_pay_tokens(
        &self,
        id: &cobro_domain::InvoiceId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> cobro_store::Result<u32> {
        self.write(self.inner.revoke_pay_tokens(id, at)).await
    }
    async fn claim_stage(
        &self,
        r: &cobro_domain::StageRecord,
        day: Option<chrono::NaiveDate>,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.claim_stage(r, day)).await
    }
    async fn finish_stage(
        &self,
        r: &cobro_domain::StageRecord,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.finish_stage(r, at)).await
    }
    async fn set_agenda(
        &self,
        id: &cobro_domain::InvoiceId,
        at: Option<chrono::DateTime<chrono::Utc>>,
        len: u32,
    ) -> cobro_store::Result<()> {
        self.write(self.inner.set_agenda(id, at, len)).await
    }
    async fn due_agenda(
        &self,
        lane: cobro_store::Lane,
        now: chrono::DateTime<chrono::Utc>,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_store::AgendaItem>> {
        self.inner.due_agenda(lane, now, p).await
    }
    async fn claim_job(&self, j: &cobro_domain::JobRecord) -> cobro_store::Result<()> {
        self.inner.claim_job(j).await
    }
    async fn finish_job(&self, j: &cobro_domain::JobRecord) -> cobro_store::Result<()> {
        self.inner.finish_job(j).await
    }
    async fn job(&self, key: &str) -> cobro_store::Result<Option<cobro_domain::JobRecord>> {
        self.inner.job(key).await
    }
    async fn stage_log(
        &self,
        log: cobro_store::StageLog,
        p: &cobro_store::PageRequest,
    ) -> cobro_store::Result<cobro_store::Page<cobro_domain::StageRecord>> {
        self.inner.stage_log(log, p).await
    }
}

/// The store fails at each write step of a delivery, before or after committing; the
/// provider's redelivery then converges to exactly the ledger of a clean delivery.
async fn store_faults_then_redelivery_converge(t: TestApp) {
    let faulty = Arc::new(FaultyStore {
        inner: t.store.clone(),
        fault: Default::default(),
        writes: Default::default(),
    });
    let app = App::new(
        faulty.clone(),
        t.app.mailer.clone(),
        (*t.app.config).clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = cobro_app::http::finish(
        cobro_app::http::invoices_api(app.clone()).merge(cobro_app::http::payment_webhook(app)),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let t = TestApp { base, ..t };

    for (k, fault) in [Fault::Before(0), Fault::After(0)].into_iter().enumerate() {
        // One fact, one write (entry + event record).
        let (_, inv) = new_clp_invoice(&t, "fault-stripe").await;
        let id = inv["id"].as_str().unwrap();
        let event = pi_succeeded(
            &format!("evt_fault_{k}"),
            &format!("pi_fault_{k}"),
            id,
            100_000,
        );
        faulty.arm(Some(fault));
        assert!(
            t.stripe(&event, None).await.status.is_server_error(),
            "{fault:?}: a 5xx makes Stripe retry"
        );
        faulty.arm(None);
        assert_eq!(t.stripe(&event, None).await.status, StatusCode::OK);
        let now = t.invoice(id).await;
        assert_eq!(
            (
                now["amount_paid"].as_str(),
                now["ledger"].as_array().unwrap().len()
            ),
            (Some("100000"), 2),
            "{fault:?}"
        );
    }
    // Two facts (received, refunded), two writes: fail at each.
    for (k, fault) in [
        Fault::Before(0),
        Fault::After(0),
        Fault::Before(1),
        Fault::After(1),
    ]
    .into_iter()
    .enumerate()
    {
        let (_, inv) = new_clp_invoice(&t, "fault-mp").await;
        let id = inv["id"].as_str().unwrap();
        let pid = format!(
            "{}",
            7_000_000
                + k as u64
                + 10 * inv["number"].as_str().unwrap()[2..].parse::<u64>().unwrap()
        );
        t.mp_payments.lock().unwrap().insert(pid.clone(), json!({"id": pid.parse::<u64>().unwrap(), "status": "approved",
            "currency_id": "CLP", "transaction_amount": 178464, "transaction_amount_refunded": 464, "external_reference": id}));
        faulty.arm(Some(fault));
        assert!(
            t.mercadopago(500 + k as u64, &pid, &pid, "payment")
                .await
                .status
                .is_server_error(),
            "{fault:?}"
        );
        faulty.arm(None);
        assert_eq!(
            t.mercadopago(500 + k as u64, &pid, &pid, "payment")
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            t.mercadopago(500 + k as u64, &pid, &pid, "payment")
                .await
                .body["outcome"],
            "duplicate"
        );
        let now = t.invoice(id).await;
        assert_eq!(
            (
                now["amount_due"].as_str(),
                now["ledger"].as_array().unwrap().len()
            ),
            (Some("464"), 3),
            "{fault:?}"
        );
    }
}

on_both_stacks!(
    stripe_payment_applies_once,
    simultaneous_deliveries,
    standard_payments_and_the_unmatched_queue,
    forged_and_malformed_webhooks_change_nothing,
    out_of_order_events_converge,
    mercadopago_payments,
    store_faults_then_redelivery_converge,
);
