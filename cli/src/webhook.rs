//! `cobro webhook send`: our `stripe trigger`. Builds a provider-shaped event for an
//! invoice, signs it exactly as the provider would with the configured secret, and posts it.

use clap::{Args, Subcommand, ValueEnum};
use cobro_app::Config;
use cobro_domain::{Currency, Money};
use cobro_providers::{mercadopago, standard, stripe};
use rust_decimal::Decimal;
use serde_json::json;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Send one signed event.
    Send(SendArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    Stripe,
    /// A signed notification naming `--payment-id`; the stack fetches the payment itself
    /// from its Mercado Pago API (`COBRO_MERCADOPAGO_API_BASE`).
    Mercadopago,
    Standard,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Succeeded,
    Refunded,
    DisputeOpened,
    DisputeWon,
    DisputeLost,
}

#[derive(Args)]
pub struct SendArgs {
    provider: ProviderArg,
    /// Our invoice id (inv_…).
    #[arg(long)]
    invoice: Option<String>,
    /// The invoice's RF payment reference (standard only).
    #[arg(long)]
    reference: Option<String>,
    /// Amount in the currency's units ("178464" CLP, "19.99" USD).
    #[arg(long)]
    amount: Option<Decimal>,
    #[arg(long)]
    currency: Option<String>,
    #[arg(long, value_enum, default_value = "succeeded")]
    kind: Kind,
    /// The provider's payment id (default: one made from the invoice or reference).
    #[arg(long)]
    payment_id: Option<String>,
    /// The event id (default: a new one). Send the same id twice to see deduplication.
    #[arg(long)]
    event_id: Option<String>,
    /// Where the stack listens: by default where `cobro serve` serves this data directory
    /// (its `public_url`), else COBRO_PUBLIC_URL.
    #[arg(long)]
    url: Option<String>,
}

impl SendArgs {
    /// The stack's base URL (set by [`run`]).
    fn base(&self) -> &str {
        self.url.as_deref().unwrap_or_default()
    }
}

pub async fn run(config: Config, command: WebhookCommand) -> anyhow::Result<()> {
    let WebhookCommand::Send(mut a) = command;
    let url = a.url.take().unwrap_or_else(|| config.public_url.clone());
    a.url = Some(url.trim_end_matches('/').to_string());
    if let ProviderArg::Mercadopago = a.provider {
        return send_mercadopago(&config, &a).await;
    }
    let (Some(amount), Some(currency), true) = (
        a.amount,
        a.currency.as_deref(),
        a.invoice.is_some() || a.reference.is_some(),
    ) else {
        anyhow::bail!("--amount, --currency and --invoice (or --reference) are required");
    };
    let money = Money::new(amount, Currency::parse(currency)?)?;
    let target = a
        .invoice
        .clone()
        .or(a.reference.clone())
        .unwrap_or_default();
    let payment_id = a
        .payment_id
        .clone()
        .unwrap_or_else(|| format!("pay_{}", target.replace(' ', "")));
    let event_id = a.event_id.clone().unwrap_or_else(|| {
        format!(
            "evt_{}",
            cobro_domain::PaymentId::generate()
                .as_str()
                .trim_start_matches("pay_")
        )
    });
    let now = chrono::Utc::now().timestamp();
    let http = reqwest::Client::new();
    let request = match a.provider {
        ProviderArg::Mercadopago => unreachable!("sent above"),
        ProviderArg::Stripe => {
            let minor = money
                .to_minor_units()
                .ok_or_else(|| anyhow::anyhow!("amount too large"))?;
            let currency = money.currency().code().to_ascii_lowercase();
            let metadata = json!({"invoice_id": a.invoice.clone().unwrap_or_default()});
            let dispute = |status: &str| {
                json!({"id": format!("dp_{payment_id}"), "charge": format!("ch_{payment_id}"),
                "payment_intent": payment_id, "amount": minor, "currency": currency, "status": status})
            };
            let (kind, object) = match a.kind {
                Kind::Succeeded => (
                    "payment_intent.succeeded",
                    json!({"id": payment_id, "amount": minor, "amount_received": minor, "currency": currency, "metadata": metadata}),
                ),
                Kind::Refunded => (
                    "charge.refunded",
                    json!({"id": format!("ch_{payment_id}"), "payment_intent": payment_id, "amount_refunded": minor, "currency": currency, "metadata": metadata}),
                ),
                Kind::DisputeOpened => ("charge.dispute.created", dispute("needs_response")),
                Kind::DisputeWon => ("charge.dispute.closed", dispute("won")),
                Kind::DisputeLost => ("charge.dispute.closed", dispute("lost")),
            };
            let body = json!({"id": event_id, "object": "event", "type": kind, "created": now, "data": {"object": object}}).to_string();
            let secret = config
                .stripe_webhook_secrets
                .current()
                .ok_or_else(|| anyhow::anyhow!("no Stripe secret"))?;
            http.post(format!("{}/webhooks/stripe", a.base()))
                .header(
                    stripe::SIGNATURE_HEADER,
                    stripe::sign(body.as_bytes(), secret, now),
                )
                .body(body)
        }
        ProviderArg::Standard => {
            let kind = match a.kind {
                Kind::Succeeded => "payment.succeeded",
                Kind::Refunded => "payment.refunded",
                Kind::DisputeOpened => "dispute.opened",
                Kind::DisputeWon => "dispute.won",
                Kind::DisputeLost => "dispute.lost",
            };
            let body = json!({"type": kind, "data": {
                "invoice_id": a.invoice, "payment_reference": a.reference, "payment_id": payment_id,
                "amount": money.amount().to_string(), "currency": money.currency().code(),
                "refund_id": format!("re_{event_id}"), "dispute_id": format!("dp_{payment_id}")}})
            .to_string();
            let secret = config
                .standard_webhook_secrets
                .current()
                .ok_or_else(|| anyhow::anyhow!("no Standard Webhooks secret"))?;
            let signature =
                standard::sign(secret, &event_id, now, body.as_bytes()).ok_or_else(|| {
                    anyhow::anyhow!("the Standard Webhooks secret is not whsec_<base64>")
                })?;
            http.post(format!("{}/webhooks/standard", a.base()))
                .header("webhook-id", &event_id)
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signature)
                .body(body)
        }
    };
    report(&event_id, request).await
}

async fn report(event_id: &str, request: reqwest::RequestBuilder) -> anyhow::Result<()> {
    let res = request
        .header("content-type", "application/json")
        .send()
        .await?;
    let status = res.status();
    let text = res.text().await?;
    println!("{event_id} -> {} {text}", status.as_u16());
    anyhow::ensure!(status.is_success(), "the stack refused the event");
    Ok(())
}

/// A Mercado Pago `payment.updated` notification, signed over the documented manifest.
async fn send_mercadopago(config: &Config, a: &SendArgs) -> anyhow::Result<()> {
    let payment_id = a
        .payment_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--payment-id is required for mercadopago"))?;
    let notification_id = a
        .event_id
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros().to_string());
    let request_id = format!("req-{notification_id}");
    let secret = config
        .mercadopago_webhook_secrets
        .current()
        .ok_or_else(|| anyhow::anyhow!("no Mercado Pago secret"))?;
    let signature = mercadopago::sign(
        secret,
        &payment_id,
        &request_id,
        chrono::Utc::now().timestamp_millis(),
    );
    let id = notification_id
        .parse::<u64>()
        .map_or_else(|_| json!(notification_id), |n| json!(n));
    let body = json!({"id": id, "live_mode": false, "type": "payment", "action": "payment.updated",
        "api_version": "v1", "data": {"id": payment_id}});
    let request = reqwest::Client::new()
        .post(format!(
            "{}/webhooks/mercadopago?data.id={payment_id}&type=payment",
            a.base()
        ))
        .header("x-signature", signature)
        .header("x-request-id", request_id)
        .body(body.to_string());
    report(&notification_id, request).await
}
