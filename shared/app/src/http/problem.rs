//! Errors as RFC 9457 `application/problem+json`: a `type`, `title`, `status`, `detail`
//! and, for invalid input, per-field `errors`. 4xx for the caller's mistakes; for ours an
//! opaque 500 whose correlation id is in the log beside the real cause.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cobro_domain::{FieldError, FieldErrors};
use serde::Serialize;

use crate::usecases::{Conflict, Error};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem answer. Boxed, so `Result<_, Problem>` stays small on the happy path.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemBody>);

/// RFC 9457 problem details; a kind of problem may add members of its own.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// `urn:cobro:problem:{slug}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Members this kind of problem adds (RFC 9457 extensions).
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem(Box::new(ProblemBody {
            kind: format!("urn:cobro:problem:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            correlation_id: None,
            extensions: Default::default(),
        }))
    }

    /// Adds an extension member.
    pub fn with(mut self, name: &str, value: serde_json::Value) -> Self {
        self.0.extensions.insert(name.to_string(), value);
        self
    }

    pub fn validation(errors: FieldErrors) -> Self {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            "One or more fields are invalid; see `errors`.",
        );
        p.0.errors = errors.errors;
        p
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }

    pub fn not_found(what: &str) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("No {what} with this id."),
        )
    }

    pub fn unauthorized() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "A valid API key is required: Authorization: Bearer <key>.",
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            format!("The request body must be at most {} KiB.", limit / 1024),
        )
    }

    /// An error of ours: logged in full with a fresh correlation id, answered opaquely.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        tracing::error!(correlation_id = %id, error = %cause, "internal error");
        let mut p = Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "Something went wrong on our side. Quote the correlation id if you contact support.",
        );
        p.0.correlation_id = Some(id);
        p
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<cobro_store::StoreError> for Problem {
    fn from(e: cobro_store::StoreError) -> Self {
        Problem::internal(&e)
    }
}

/// The one place a use case's error becomes an answer: 404, 422 with the fields, 409 with
/// what stands in the way (and what the caller needs to act on it), 400, 503, or an opaque
/// 500 for ours.
impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(thing) => Problem::not_found(&thing.to_string()),
            Error::Forbidden => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                "Your role does not allow this.",
            ),
            Error::Invalid(errors) => Problem::validation(errors),
            Error::Conflict(c) => conflict(*c),
            Error::Unreadable(why) => Problem::malformed(why),
            Error::Busy => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Busy",
                "Too many invoices are being created at once; retry with the same Idempotency-Key.",
            ),
            Error::Unavailable(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Unavailable",
                "Try again later.",
            ),
            Error::Store(e) => Problem::internal(&e),
            Error::Internal(cause) => Problem::internal(&cause),
        }
    }
}

fn conflict(c: Conflict) -> Problem {
    let problem = |slug: &str, title: &str, detail: String| {
        Problem::new(StatusCode::CONFLICT, slug, title, detail)
    };
    match c {
        Conflict::DepositRequired(asked) => problem(
            "deposit-required",
            "Deposit required",
            format!(
                "A deposit of {} {} ({}) must be paid before this client is invoiced on credit. Invoice {} asks for it, due {}; the client was e-mailed its pay link. Create this invoice again once it is paid: the deposit is then brought onto it.",
                asked.amount.amount(),
                asked.amount.currency().code(),
                asked.reason.as_str(),
                asked.invoice.number,
                asked.invoice.due_date
            ),
        )
        .with(
            "deposit",
            super::views::deposit_json(
                &asked.invoice,
                Some((&asked.pay_url, asked.reason.as_str())),
            ),
        ),
        Conflict::OverBudget {
            client,
            budget,
            invoiced,
            left,
            total,
        } => problem(
            "over-budget",
            "Over the budget",
            format!(
                "The client was invoiced {} {} of a budget of {}; this invoice ({}) would exceed it. Raise the budget first (PUT /v1/clients/{}/budget).",
                invoiced.amount(),
                budget.currency().code(),
                budget.amount(),
                total.amount(),
                client
            ),
        )
        .with(
            "budget",
            serde_json::json!({"amount": budget.amount().to_string(), "currency": budget.currency(), "invoiced": invoiced.amount().to_string(), "left": left.amount().to_string()}),
        ),
        Conflict::BudgetBelowInvoiced { invoiced } => problem(
            "budget-below-invoiced",
            "Below what was invoiced",
            format!(
                "The client was already invoiced {} {}; the budget cannot be less.",
                invoiced.amount(),
                invoiced.currency().code()
            ),
        ),
        Conflict::RestrictedTier(standing) => problem(
            "restricted-tier",
            "Client restricted",
            format!(
                "The client is in tier {:?} (score {}), which the credit policy does not invoice on credit: {}.",
                standing.tier,
                standing.score,
                cobro_notify::words::standing_reasons(&standing, cobro_domain::Locale::En).join("; ")
            ),
        ),
        Conflict::OverCreditLimit {
            owed,
            total,
            limit,
            left,
        } => problem(
            "over-credit-limit",
            "Over the credit limit",
            format!(
                "The client owes {} {} and this invoice is {}: together over their credit limit of {} ({} available).",
                owed.amount(),
                limit.currency().code(),
                total.amount(),
                limit.amount(),
                left.amount()
            ),
        ),
        Conflict::NotVoidable(status) => problem(
            "not-voidable",
            "Cannot be voided",
            format!(
                "The invoice is {status:?}; only open or partially paid invoices can be voided."
            )
            .to_lowercase(),
        ),
        Conflict::DuplicateTaxId(first) => problem(
            "duplicate-tax-id",
            "Tax id already in use",
            format!(
                "Client {} ({}) already has tax id {}. If this is another client with the same tax id (a branch, a second contact), send \"duplicate_tax_id\": true.",
                first.id,
                first.name,
                first.tax_id.as_deref().unwrap_or_default()
            ),
        ),
        Conflict::LastOwner => problem(
            "last-owner",
            "The last owner",
            "The business needs at least one owner who can sign in: make another person owner first.".into(),
        ),
        Conflict::UserExists(email) => problem(
            "user-exists",
            "User already exists",
            format!("A user already signs in with {email}."),
        ),
        Conflict::NothingToSend(status) => problem(
            "not-open",
            "Nothing to send",
            format!(
                "The invoice is {status:?}: nothing is due on it, so it is not sent. A receipt or a notice already told the client what changed."
            ),
        ),
        Conflict::DuplicatePayment => problem(
            "duplicate-payment",
            "Payment already recorded",
            "A payment with this reference is already on the invoice.".into(),
        ),
        Conflict::AlreadyApplied => problem(
            "already-applied",
            "Already on the invoice",
            "This payment is already in the invoice's ledger.".into(),
        ),
        Conflict::AlreadyResolved => problem(
            "already-resolved",
            "Already applied",
            "This payment was already applied to an invoice.".into(),
        ),
        Conflict::Arrangement(code, detail) => {
            problem(code.code(), "Not possible on this invoice", detail)
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="cobro""#),
            );
        }
        res
    }
}
