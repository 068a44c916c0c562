//! `heritage site add|set|show`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use heritage_archive::site::{check_coordinates, nfc};
use heritage_archive::{Archive, Localized, SiteMeta, Slug};

/// Site commands.
#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Add a site. Its slug (folder name) is made from the title unless
    /// --slug is given: "Nhà Tổng Thận" becomes nha-tong-than.
    Add {
        /// The Vietnamese title, e.g. "Nhà Tổng Thận".
        title: String,
        /// Folder name: lowercase ASCII letters, digits and hyphens.
        #[arg(long)]
        slug: Option<String>,
        #[command(flatten)]
        fields: SiteFields,
    },
    /// Change a site's fields; only the ones given change.
    Set {
        /// The site's slug, e.g. nha-tong-than.
        slug: String,
        /// Vietnamese title.
        #[arg(long)]
        title_vi: Option<String>,
        #[command(flatten)]
        fields: SiteFields,
        /// Whether the site appears in the published website.
        #[arg(long, value_name = "true|false")]
        published: Option<bool>,
    },
    /// Print a site's site.toml.
    Show {
        /// The site's slug.
        slug: String,
    },
}

/// Fields shared by `add` and `set`.
#[derive(Args, Debug, Default)]
pub struct SiteFields {
    /// English title.
    #[arg(long)]
    title_en: Option<String>,
    /// Vietnamese summary (a few sentences).
    #[arg(long)]
    summary_vi: Option<String>,
    /// English summary.
    #[arg(long)]
    summary_en: Option<String>,
    /// Street address.
    #[arg(long)]
    address: Option<String>,
    /// Latitude in degrees, north positive (Tân An is about 10.54).
    #[arg(long, allow_negative_numbers = true)]
    lat: Option<f64>,
    /// Longitude in degrees, east positive (Tân An is about 106.41).
    #[arg(long, allow_negative_numbers = true)]
    lon: Option<f64>,
}

impl SiteFields {
    fn apply(self, meta: &mut SiteMeta) -> Result<()> {
        let set = |slot: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *slot = nfc(&v);
            }
        };
        set(&mut meta.title.en, self.title_en);
        set(&mut meta.summary.vi, self.summary_vi);
        set(&mut meta.summary.en, self.summary_en);
        set(&mut meta.address, self.address);
        meta.latitude = self.lat.or(meta.latitude);
        meta.longitude = self.lon.or(meta.longitude);
        check_coordinates(meta.latitude, meta.longitude)
            .map_err(|e| anyhow!("{e}: give decimal degrees, e.g. --lat 10.54 --lon 106.41"))
    }
}

/// Runs a site command.
pub fn run(root: &Path, command: SiteCommand) -> Result<ExitCode> {
    let archive = Archive::open(root)?;
    match command {
        SiteCommand::Add { title, slug, fields } => {
            let title = nfc(title.trim());
            if title.is_empty() {
                bail!("the title is empty: give the site's Vietnamese name, e.g. \"Nhà Tổng Thận\"");
            }
            let slug = match slug {
                Some(s) => Slug::parse(&s)?,
                None => Slug::from_title(&title).map_err(|_| {
                    anyhow!("no slug can be made from the title {title:?}: give one with --slug, e.g. --slug di-tich-1")
                })?,
            };
            let mut meta = SiteMeta { title: Localized { vi: title, en: String::new() }, ..Default::default() };
            fields.apply(&mut meta)?;
            archive.add_site(&slug, &meta)?;
            println!("Added the site {slug} ({}).", meta.title.vi);
            println!("Next: heritage ingest <photo folder> --site {slug}");
        }
        SiteCommand::Set { slug, title_vi, fields, published } => {
            let site = archive.site(&Slug::parse(&slug)?)?;
            let mut meta = site.meta()?;
            if let Some(title) = title_vi {
                meta.title.vi = nfc(title.trim());
            }
            fields.apply(&mut meta)?;
            if let Some(p) = published {
                meta.published = p;
            }
            site.save_meta(&meta)?;
            println!("Updated {slug}.");
        }
        SiteCommand::Show { slug } => {
            let site = archive.site(&Slug::parse(&slug)?)?;
            print!("{}", std::fs::read_to_string(site.meta_path())?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
