//! The one error of the use cases. Each variant says what went wrong in terms of the
//! business; the HTTP layer turns it into problem+json in one place
//! ([`crate::http::problem`]), the CLI prints it.

use cobro_domain::standing::Standing;
use cobro_domain::{ClientId, FieldErrors, Invoice, InvoiceStatus, Money};
use cobro_store::StoreError;

/// What a use case could not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thing {
    Client,
    Invoice,
    UnmatchedPayment,
    User,
}

impl std::fmt::Display for Thing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Thing::Client => "client",
            Thing::Invoice => "invoice",
            Thing::UnmatchedPayment => "unmatched payment",
            Thing::User => "user",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such thing (or not one the caller may see).
    #[error("no {0} with this id")]
    NotFound(Thing),
    /// The caller's role does not allow this: nothing was written.
    #[error("forbidden for this role")]
    Forbidden,
    /// Bad values, by field: nothing was written.
    #[error("invalid input: {}", fields(.0))]
    Invalid(FieldErrors),
    /// Not possible now: nothing was written (or, for a deposit, only the deposit asked for).
    #[error("conflict: {0:?}")]
    Conflict(Box<Conflict>),
    /// What arrived cannot be read (after it was verified).
    #[error("unreadable: {0}")]
    Unreadable(String),
    /// Too many writers at once; the same request may be retried.
    #[error("busy: too many concurrent writes")]
    Busy,
    /// An outside service (a provider's API) failed or is not configured; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A defect of ours (a ledger that does not add up, a template that fails).
    #[error("internal: {0}")]
    Internal(String),
}

/// `field: message; …`, as a person reads it in a log or a terminal.
fn fields(errors: &FieldErrors) -> String {
    errors
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub fn conflict(c: Conflict) -> Self {
        Error::Conflict(Box::new(c))
    }

    /// A defect of ours, from its cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    /// The store refused the write because a concurrent request with the same
    /// idempotency key won: its answer is the one to give.
    pub fn is_idempotency_race(&self) -> bool {
        matches!(self, Error::Store(StoreError::IdempotencyKeyTaken))
    }
}

impl From<cobro_domain::MoneyError> for Error {
    fn from(e: cobro_domain::MoneyError) -> Self {
        Error::internal(e)
    }
}

/// Why something cannot be done now, with what the caller needs to act on it.
#[derive(Debug, Clone)]
pub enum Conflict {
    /// The client must pay a deposit first: the deposit invoice that asks for it.
    DepositRequired(Box<DepositAsked>),
    /// The order would take the client over their budget.
    OverBudget {
        client: ClientId,
        budget: Money,
        invoiced: Money,
        left: Money,
        total: Money,
    },
    /// A budget below what was already invoiced.
    BudgetBelowInvoiced { invoiced: Money },
    /// The client's tier is not invoiced on credit.
    RestrictedTier(Standing),
    /// The order would take the client over their credit limit.
    OverCreditLimit {
        owed: Money,
        total: Money,
        limit: Money,
        left: Money,
    },
    /// Only open or partially paid invoices can be voided.
    NotVoidable(InvoiceStatus),
    /// Only invoices with money due can be sent.
    NothingToSend(InvoiceStatus),
    /// Another client already has this tax id: that one.
    DuplicateTaxId(Box<cobro_domain::Client>),
    /// A user of the console already signs in with this address.
    UserExists(String),
    /// The business's last owner who can sign in cannot be made something else or disabled.
    LastOwner,
    /// A manual payment with this reference is already on the invoice.
    DuplicatePayment,
    /// This queued payment is already in the invoice's ledger.
    AlreadyApplied,
    /// This queued payment was already applied by someone.
    AlreadyResolved,
    /// A promise, plan or extension cannot be made: why, and a sentence for people.
    Arrangement(cobro_domain::arrangement::Conflict, String),
}

/// A deposit asked for: its invoice, a fresh pay link, and why.
#[derive(Debug, Clone)]
pub struct DepositAsked {
    pub invoice: Invoice,
    pub pay_url: String,
    /// What is still to be paid.
    pub amount: Money,
    pub reason: DepositReason,
}

/// Why a deposit is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositReason {
    /// The client has paid nothing yet.
    NewClient,
    /// Their tier is one the deposit policy names.
    Tier,
    /// Their tier is restricted and the policy asks them to prepay.
    Prepay,
}

impl DepositReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            DepositReason::NewClient => "new-client",
            DepositReason::Tier => "tier",
            DepositReason::Prepay => "prepay",
        }
    }
}
