//! The weekly summary e-mail to the business: from 08:00 on Monday in the business's time
//! zone, the first reminder sweep of the week claims the week's summary (a job claimed
//! like a dunning stage: once, taken over by a later sweep if the one that claimed it
//! died) and sends it to `COBRO_BUSINESS_EMAIL` and to every owner of the console who can
//! sign in, each in their language. A sweep that finds it done, or before Monday 08:00,
//! does nothing; a week whose Monday had no sweep gets its summary on the next one, any
//! day of that week.

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use cobro_domain::calendar::{add_days, local_moment, today_in};
use cobro_domain::cash::monday_of;
use cobro_domain::summary::{CurrencySummary, Weekly};
use cobro_domain::{JobRecord, Locale, Role, StageStatus};
use cobro_notify::summary::{SummaryCurrency, WeeklySummary};
use cobro_store::{PageRequest, StageLog, StoreError};

use super::mail::Undelivered;
use crate::App;

/// When on Monday the summary may go, in the business's time zone.
pub const SEND_FROM: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// What a sweep did about the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryOutcome {
    /// Before Monday 08:00, or this week's is done or being sent by another sweep.
    NotDue,
    /// Sent to these many addresses.
    Sent(usize),
}

/// The job's key for the week of `monday`.
pub fn job_key(monday: chrono::NaiveDate) -> String {
    format!("weekly-summary:{monday}")
}

/// Sends this week's summary if it is due at `now` and no sweep has (see the module).
/// A failed send leaves the claim to run out: a later sweep sends it again.
pub async fn weekly_summary(app: &App, now: DateTime<Utc>) -> Result<SummaryOutcome, Undelivered> {
    let tz = app.config.business_timezone;
    let today = today_in(tz, now);
    let monday = monday_of(today);
    let from = local_moment(tz, monday, SEND_FROM);
    if now < from {
        return Ok(SummaryOutcome::NotDue);
    }
    debug_assert_eq!(monday.weekday(), Weekday::Mon);
    let key = job_key(monday);
    let before = app.store.job(&key).await?;
    if !JobRecord::claimable(before.as_ref(), now) {
        return Ok(SummaryOutcome::NotDue);
    }
    let claim = JobRecord::claim(key.clone(), before.as_ref(), now);
    match app.store.claim_job(&claim).await {
        Ok(()) => {}
        Err(StoreError::StageTaken) => return Ok(SummaryOutcome::NotDue),
        Err(e) => return Err(e.into()),
    }
    // The figures as of today (the week before ends yesterday, Sunday, at the latest).
    let mut weekly = Weekly::new(today, tz);
    super::figures::each_receivable(app, weekly.since(), |s| {
        weekly
            .add(&s.invoice, &s.entries)
            .map_err(super::Error::internal)
    })
    .await
    .map_err(Undelivered::transient)?;
    let last_monday = weekly.last_monday;
    let lines = weekly.finish()?;
    let escalations = escalated_between(app, last_monday, monday).await?;
    // Who gets it: the business's address, then each owner who can sign in (once each).
    let mut to: Vec<(String, Option<String>, Locale)> = vec![(
        app.config.business_email.clone(),
        None,
        app.config.business_locale,
    )];
    for u in app.store.list_users().await? {
        if u.role == Role::Owner
            && u.is_active()
            && !to.iter().any(|(e, _, _)| e.eq_ignore_ascii_case(&u.email))
        {
            to.push((u.email.clone(), Some(u.name.clone()), u.locale));
        }
    }
    let mut sent = Vec::new();
    for (i, (email, name, l)) in to.iter().enumerate() {
        let summary = WeeklySummary {
            locale: *l,
            business: app.config.business_name.clone(),
            name: name.clone(),
            last_week: (last_monday, add_days(monday, -1)),
            currencies: words(app, &lines, *l).await?,
            escalations,
            link: format!("{}/console", app.config.public_url),
        };
        let email = summary.email(&app.config.from_email, email, &format!("{key}:{i}"))?;
        sent.push(app.mailer.send(&email).await?.id);
    }
    let mut done = claim;
    done.status = StageStatus::Done;
    done.done_at = Some(app.now());
    done.message_ids = sent;
    let count = done.message_ids.len();
    app.store.finish_job(&done).await?;
    tracing::info!(week = %monday, addresses = count, "weekly summary sent");
    Ok(SummaryOutcome::Sent(count))
}

/// The summary's lines in `l`, with the clients' names.
async fn words(
    app: &App,
    lines: &[CurrencySummary],
    l: Locale,
) -> Result<Vec<SummaryCurrency>, Undelivered> {
    let mut out = Vec::new();
    for c in lines {
        let mut top = Vec::new();
        for (id, amount) in &c.top {
            let name = app
                .store
                .client(id)
                .await?
                .map_or_else(|| id.to_string(), |c| c.name);
            top.push((name, amount.format(l)));
        }
        out.push(SummaryCurrency {
            code: c.currency.code().to_string(),
            collected: c.collected.format(l),
            overdue_total: c.overdue_total.format(l),
            overdue: c
                .overdue
                .iter()
                .map(|(b, m)| {
                    (
                        cobro_notify::figures::bucket(l, *b).to_string(),
                        m.format(l),
                    )
                })
                .collect(),
            promised: c.promised.format(l),
            broken_promises: c.broken_promises,
            broken_plans: c.broken_plans,
            top,
        });
    }
    Ok(out)
}

/// Invoices escalated from `from` to the day before `to` (the business's days).
async fn escalated_between(
    app: &App,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<usize, Undelivered> {
    let tz = app.config.business_timezone;
    let mut count = 0usize;
    let mut page = PageRequest::first(cobro_store::MAX_PAGE);
    loop {
        let p = app.store.stage_log(StageLog::Escalations, &page).await?;
        let mut older = false;
        for r in &p.items {
            let Some(day) = r.done_at.map(|t| today_in(tz, t)) else {
                continue;
            };
            if day < from {
                older = true;
            } else if day < to {
                count = count.saturating_add(1);
            }
        }
        match p.next {
            Some(n) if !older => page.after = Some(n),
            _ => return Ok(count),
        }
    }
}
