//! `heritage status`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use heritage_build::{ModelStatus, model_status};
use serde::Serialize;

use super::{open_sites, print_json};
use crate::table;

/// Arguments of `heritage status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Only this site (default: all).
    #[arg(long)]
    site: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SiteStatus {
    slug: String,
    title_vi: String,
    title_en: String,
    published: bool,
    photosets: Vec<PhotosetStatus>,
    photos: usize,
    stages: Vec<StageStatus>,
    /// The sparse model's coverage, once it is built.
    model: Option<ModelStatus>,
}

#[derive(Serialize)]
struct PhotosetStatus {
    id: String,
    photos: usize,
}

#[derive(Serialize)]
struct StageStatus {
    stage: String,
    done: usize,
    total: usize,
}

/// Runs `heritage status`.
pub fn run(root: &Path, args: StatusArgs) -> Result<ExitCode> {
    let (archive, sites) = open_sites(root, args.site.as_deref())?;
    let mut statuses = Vec::new();
    for site in &sites {
        let meta = site.meta()?;
        let photosets: Vec<PhotosetStatus> = site
            .photosets()?
            .iter()
            .map(|p| Ok(PhotosetStatus { id: p.id().to_string(), photos: p.manifest()?.len() }))
            .collect::<Result<_>>()?;
        let stages = heritage_build::progress_of_site(&archive, site.slug())?
            .into_iter()
            .map(|(stage, done, total)| StageStatus { stage, done, total })
            .collect();
        let model = model_status(&archive, site)?;
        statuses.push(SiteStatus {
            slug: site.slug().to_string(),
            title_vi: meta.title.vi.clone(),
            title_en: meta.title.en.clone(),
            published: meta.published,
            photos: photosets.iter().map(|p| p.photos).sum(),
            photosets,
            stages,
            model,
        });
    }
    if args.json {
        print_json(&serde_json::json!({ "archive": root, "sites": statuses }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if statuses.is_empty() {
        println!("No sites yet. Add one: heritage site add \"Nhà Tổng Thận\"");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows =
        vec![["site", "title", "photo sets", "photos", "built", "3D model", "published"].map(String::from).to_vec()];
    for s in &statuses {
        let built: Vec<String> = s.stages.iter().map(|st| format!("{} {}/{}", st.stage, st.done, st.total)).collect();
        rows.push(vec![
            s.slug.clone(),
            s.title_vi.clone(),
            s.photosets.len().to_string(),
            s.photos.to_string(),
            built.join(", "),
            s.model.as_ref().map_or("-".to_string(), |m| format!("{}/{}", m.registered, m.photos_total)),
            if s.published { "yes" } else { "no" }.to_string(),
        ]);
    }
    print!("{}", table::render(&rows));
    if args.site.is_some() {
        for s in &statuses {
            println!();
            let mut rows = vec![vec!["photo set".to_string(), "photos".to_string()]];
            rows.extend(s.photosets.iter().map(|p| vec![p.id.clone(), p.photos.to_string()]));
            print!("{}", table::render(&rows));
            if let Some(model) = &s.model {
                let report = std::fs::read_to_string(&model.report)
                    .with_context(|| format!("cannot read {}", model.report.display()))?;
                println!("\nBáo cáo độ phủ / coverage report ({}):\n{report}", model.report.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
