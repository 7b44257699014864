//! `qingshan user add|list|passwd|disable` — platform accounts in a data folder (works while
//! the server runs). Every change goes to the audit log with actor `cli`.

use std::io::BufRead;

use anyhow::bail;
use clap::{Args, Subcommand};
use store::accounts::NewUser;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; prints a random password unless --password-stdin is given.
    Add(AddArgs),
    /// List users (no password hashes).
    List(DataArg),
    /// Set a new password (random and printed, or read from stdin); ends the user's sessions.
    Passwd(NameArgs),
    /// Disable a user (ends their sessions and tokens); --enable undoes it.
    Disable(DisableArgs),
}

#[derive(Args)]
pub struct DataArg {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
}

#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    name: String,
    /// admin | monitoring | enforcement | planning | town | enterprise
    #[arg(long)]
    role: String,
    /// Town code (role town) or enterprise code (role enterprise).
    #[arg(long)]
    scope: Option<String>,
    /// Display name (Chinese name).
    #[arg(long, default_value = "")]
    display: String,
    #[arg(long)]
    password_stdin: bool,
    /// County profile for checking the scope (built in: dianjiang).
    #[arg(long, default_value = "dianjiang")]
    profile: String,
}

#[derive(Args)]
pub struct NameArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    name: String,
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Args)]
pub struct DisableArgs {
    #[command(flatten)]
    db: crate::storeargs::StoreArgs,
    name: String,
    #[arg(long)]
    enable: bool,
}

fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((web::auth::random_password(), true))
    }
}

fn now() -> i64 {
    web::auth::now_ms()
}

pub fn run(cmd: UserCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        UserCommand::Add(a) => {
            let profile = crate::serve::load_profile(&a.profile)?;
            web::auth::check_role_scope(&profile, &a.role, a.scope.as_deref())
                .map_err(|e| anyhow::anyhow!(e))?;
            let (pw, show) = password(a.password_stdin)?;
            let hash = web::auth::hash_password(&pw, false).map_err(|e| anyhow::anyhow!(e))?;
            let mut s = a.db.open()?;
            let u = s.create_user(
                &NewUser {
                    name: a.name.clone(),
                    display: a.display,
                    role: a.role,
                    scope: a.scope,
                    pw_hash: hash,
                },
                now(),
            )?;
            let after = serde_json::to_value(&u)?;
            s.append_audit(
                now(),
                "cli",
                "user.create",
                &format!("user:{}", u.name),
                None,
                Some(&after),
                "",
            )?;
            println!("added user {} ({})", u.name, u.role);
            if show {
                println!("password: {pw}");
            }
        }
        UserCommand::List(a) => {
            let s = a.db.open()?;
            for u in s.users()? {
                println!("{}", serde_json::to_string(&u)?);
            }
        }
        UserCommand::Passwd(a) => {
            let mut s = a.db.open()?;
            let Some(u) = s.user_by_name(&a.name)? else {
                bail!("no user {}", a.name)
            };
            let (pw, show) = password(a.password_stdin)?;
            let hash = web::auth::hash_password(&pw, false).map_err(|e| anyhow::anyhow!(e))?;
            s.set_password(u.id, &hash, now())?;
            let after = serde_json::json!({"password": "changed"});
            s.append_audit(
                now(),
                "cli",
                "user.update",
                &format!("user:{}", u.name),
                None,
                Some(&after),
                "",
            )?;
            println!("password of {} changed", u.name);
            if show {
                println!("password: {pw}");
            }
        }
        UserCommand::Disable(a) => {
            let mut s = a.db.open()?;
            let Some(u) = s.user_by_name(&a.name)? else {
                bail!("no user {}", a.name)
            };
            s.set_disabled(u.id, !a.enable, now())?;
            let before = serde_json::to_value(&u)?;
            let after = serde_json::to_value(s.user(u.id)?)?;
            s.append_audit(
                now(),
                "cli",
                "user.update",
                &format!("user:{}", u.name),
                Some(&before),
                Some(&after),
                "",
            )?;
            println!(
                "{} {}",
                u.name,
                if a.enable { "enabled" } else { "disabled" }
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
