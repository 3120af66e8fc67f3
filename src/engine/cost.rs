//! What one device-hour costs: rented at a price, or owned.
//!
//! Owning spreads the purchase over its useful life and adds power and hosting. The purchase
//! and hosting are paid around the clock whether or not the device works, so per hour of *use*
//! they are divided by the utilization; power is paid only while the device works, at its draw
//! times the facility overhead (PUE). Per calendar hour this is
//! `purchase / (years x 8766) + hosting / 730.5 + draw x utilization x price x PUE`, and per
//! hour used the same divided by the utilization.

/// Hours in an average year (365.25 x 24).
pub const HOURS_PER_YEAR: f64 = 8766.0;
/// Hours in an average month (a twelfth of [`HOURS_PER_YEAR`]).
pub const HOURS_PER_MONTH: f64 = HOURS_PER_YEAR / 12.0;

/// An owned device and what running it costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Owned {
    /// Purchase price of one device (or the machine around it), USD.
    pub purchase_usd: f64,
    /// Years the purchase is spread over.
    pub amortization_years: f64,
    /// Draw while working, watts; `None` when the device has no power figure.
    pub power_w: Option<f64>,
    /// Share of calendar hours the device works, above 0 and at most 1.
    pub utilization: f64,
    /// Electricity, USD per kWh.
    pub electricity_usd_per_kwh: f64,
    /// Facility energy over device energy, at least 1.
    pub pue: f64,
    /// Space, cooling and networking per device and month, USD.
    pub hosting_usd_per_month: f64,
}

/// One device-hour of use, owned, by part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OwnedHour {
    /// The purchase's share, USD.
    pub capital_usd: f64,
    /// Electricity, facility overhead included, USD (0 without a power figure).
    pub energy_usd: f64,
    /// Hosting's share, USD.
    pub hosting_usd: f64,
}

impl OwnedHour {
    /// The whole device-hour, USD.
    pub fn total_usd(&self) -> f64 {
        self.capital_usd + self.energy_usd + self.hosting_usd
    }
}

impl Owned {
    /// The cost of one hour of use of one device.
    pub fn per_hour_used(&self) -> OwnedHour {
        // The edges bound utilization away from 0 and years away from 0; the floor keeps the
        // function total for any input.
        let utilization = self.utilization.max(1e-6);
        let life_hours = (self.amortization_years * HOURS_PER_YEAR).max(1e-6);
        OwnedHour {
            capital_usd: self.purchase_usd / life_hours / utilization,
            energy_usd: self.power_w.map_or(0.0, |w| energy_usd(w / 1000.0, self.electricity_usd_per_kwh, self.pue)),
            hosting_usd: self.hosting_usd_per_month / HOURS_PER_MONTH / utilization,
        }
    }

    /// What one device costs per calendar hour whether or not it works: the purchase's share and
    /// hosting, USD.
    pub fn fixed_usd_per_hour(&self) -> f64 {
        self.purchase_usd / (self.amortization_years * HOURS_PER_YEAR).max(1e-6)
            + self.hosting_usd_per_month / HOURS_PER_MONTH
    }

    /// What one device's electricity costs per hour of work, USD.
    pub fn energy_usd_per_hour_working(&self) -> f64 {
        self.per_hour_used().energy_usd
    }

    /// The cost of one calendar month of one device at this utilization, USD.
    pub fn per_month(&self) -> f64 {
        self.per_hour_used().total_usd() * HOURS_PER_MONTH * self.utilization
    }
}

/// The money for `kwh` of device energy at `usd_per_kwh` with a facility overhead of `pue`.
pub fn energy_usd(kwh: f64, usd_per_kwh: f64, pue: f64) -> f64 {
    kwh * pue * usd_per_kwh
}

/// Joules in a kWh.
pub const JOULES_PER_KWH: f64 = 3.6e6;

#[cfg(test)]
mod tests {
    use super::*;

    fn rtx_4090() -> Owned {
        Owned {
            purchase_usd: 1599.0,
            amortization_years: 3.0,
            power_w: Some(450.0),
            utilization: 0.5,
            electricity_usd_per_kwh: 0.20,
            pue: 1.0,
            hosting_usd_per_month: 0.0,
        }
    }

    #[test]
    fn an_owned_hour_computed_by_hand() {
        // $1599 over 3 years = 26,298 hours: $0.060803/h; at half use $0.121606 per hour used.
        // 450 W at $0.20/kWh = $0.09 per hour used. Total $0.211606.
        let h = rtx_4090().per_hour_used();
        assert!((h.capital_usd - 1599.0 / 26_298.0 / 0.5).abs() < 1e-12);
        assert!((h.energy_usd - 0.09).abs() < 1e-12);
        assert_eq!(h.hosting_usd, 0.0);
        assert!((h.total_usd() - 0.211_606).abs() < 1e-6, "{}", h.total_usd());
        // A month at half use: 365.25 hours of work.
        assert!((rtx_4090().per_month() - 0.211_606 * 365.25).abs() < 1e-3);
    }

    #[test]
    fn hosting_and_pue_scale_as_stated() {
        let o = Owned { hosting_usd_per_month: 73.05, pue: 1.5, utilization: 1.0, ..rtx_4090() };
        let h = o.per_hour_used();
        assert!((h.hosting_usd - 0.1).abs() < 1e-12);
        assert!((h.energy_usd - 0.135).abs() < 1e-12);
    }

    #[test]
    fn no_power_figure_counts_no_energy_and_stays_finite() {
        let o = Owned { power_w: None, utilization: 0.0, amortization_years: 0.0, ..rtx_4090() };
        let h = o.per_hour_used();
        assert_eq!(h.energy_usd, 0.0);
        assert!(h.total_usd().is_finite());
    }
}
