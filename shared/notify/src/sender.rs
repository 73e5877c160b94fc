//! The business behind every message: who it is (name, tax id, address, contact) and the
//! bank account a client transfers to, as the client reads them in their language, and
//! the name the business's country gives its sales tax.

use cobro_domain::Locale;
use cobro_domain::taxid::Country;

/// The account a client transfers to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// "Banco de Chile".
    pub bank: String,
    /// "cuenta corriente", "cuenta vista", "CLABE"…
    #[serde(rename = "type")]
    pub kind: String,
    pub number: String,
    pub holder: String,
    /// The holder's tax id (RUT in Chile), as the bank asks for it.
    #[serde(default)]
    pub holder_tax_id: Option<String>,
    /// Where the client sends the transfer's proof.
    #[serde(default)]
    pub proofs_email: Option<String>,
}

/// Who sends the messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sender {
    pub name: String,
    pub country: Option<Country>,
    /// As the country writes it (checked by its check digits at start-up).
    pub tax_id: Option<String>,
    pub address: Option<String>,
    /// A phone or an address for people.
    pub contact: Option<String>,
    pub bank: Option<BankAccount>,
}

impl Sender {
    /// One line for the foot of every message: name, tax id, address, contact.
    pub fn footer(&self) -> String {
        let mut parts = vec![self.name.clone()];
        if let Some(t) = &self.tax_id {
            let label = self.country.map_or("Tax id", |c| c.tax_id_name());
            parts.push(format!("{label} {t}"));
        }
        parts.extend(self.address.clone());
        parts.extend(self.contact.clone());
        parts.join(" · ")
    }

    /// How to pay by transfer, in a sentence: to which account, quoting `reference`, and
    /// where to send the proof. Without an account, only the reference.
    pub fn transfer(&self, l: Locale, reference: &str) -> String {
        let es = l == Locale::Es;
        let Some(b) = &self.bank else {
            return if es {
                format!("Por transferencia bancaria, indicando la referencia {reference}")
            } else {
                format!("By bank transfer, quoting the reference {reference}")
            };
        };
        let holder = match &b.holder_tax_id {
            Some(t) => format!("{} ({t})", b.holder),
            None => b.holder.clone(),
        };
        let proof = b.proofs_email.as_deref().map_or(String::new(), |e| {
            if es {
                format!(", y envía el comprobante a {e}")
            } else {
                format!(", and send the proof to {e}")
            }
        });
        if es {
            format!(
                "Por transferencia a {}, {} N° {}, a nombre de {holder}, indicando la referencia {reference}{proof}",
                b.bank, b.kind, b.number
            )
        } else {
            format!(
                "By transfer to {}, {} no. {}, in the name of {holder}, quoting the reference {reference}{proof}",
                b.bank, b.kind, b.number
            )
        }
    }

    /// What the business's country calls its sales tax on an invoice ("IVA" in Chile,
    /// Mexico, Colombia and Argentina), in the reader's language.
    pub fn tax_label(&self, l: Locale) -> String {
        let iva = self
            .country
            .is_some_and(|c| matches!(c.code(), "CL" | "MX" | "CO" | "AR" | "PE" | "UY" | "EC"));
        match (iva, l) {
            (true, Locale::Es) => "IVA".into(),
            (true, Locale::En) => "VAT (IVA)".into(),
            (false, Locale::Es) => "Impuesto".into(),
            (false, Locale::En) => "Tax".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estudio() -> Sender {
        Sender {
            name: "Estudio Sur SpA".into(),
            country: Country::parse("CL"),
            tax_id: Some("76.543.210-3".into()),
            address: Some("Av. Italia 1234, Providencia".into()),
            contact: Some("+56 2 2345 6789".into()),
            bank: Some(BankAccount {
                bank: "Banco de Chile".into(),
                kind: "cuenta corriente".into(),
                number: "00-123-45678-09".into(),
                holder: "Estudio Sur SpA".into(),
                holder_tax_id: Some("76.543.210-3".into()),
                proofs_email: Some("pagos@estudiosur.cl".into()),
            }),
        }
    }

    #[test]
    fn a_chilean_business_as_its_clients_read_it() {
        let s = estudio();
        assert_eq!(
            s.footer(),
            "Estudio Sur SpA · RUT 76.543.210-3 · Av. Italia 1234, Providencia · +56 2 2345 6789"
        );
        assert_eq!(
            s.transfer(Locale::Es, "RF91 0000 0124 7"),
            "Por transferencia a Banco de Chile, cuenta corriente N° 00-123-45678-09, a nombre de Estudio Sur SpA (76.543.210-3), indicando la referencia RF91 0000 0124 7, y envía el comprobante a pagos@estudiosur.cl"
        );
        assert_eq!(s.tax_label(Locale::Es), "IVA");
        assert_eq!(Sender::default().tax_label(Locale::En), "Tax");
        assert!(
            Sender::default()
                .transfer(Locale::En, "RF1")
                .contains("quoting the reference RF1")
        );
    }
}
