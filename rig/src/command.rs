//! Running one set-up command (Maven, apt-get, a service's start) with its output
//! kept, so a failure reports the command that failed and what it printed.

use std::process::{Command, Output};

/// How many trailing lines of a failed command's output an error keeps.
const OUTPUT_LINES: usize = 80;

/// A set-up command that could not start or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}); its output:\n{output}")]
    Failed {
        command: String,
        status: String,
        output: String,
    },
}

/// The command line as a shell would show it (program, then arguments).
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to its end with its output captured; an exit other than 0 is an
/// error carrying the command line, the status and the last lines it printed.
pub fn run(cmd: &mut Command) -> Result<Output, CommandError> {
    let command = describe(cmd);
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| CommandError::Spawn {
            command: command.clone(),
            source,
        })?;
    if out.status.success() {
        return Ok(out);
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let output = lines[lines.len().saturating_sub(OUTPUT_LINES)..].join("\n");
    Err(CommandError::Failed {
        command,
        status: out.status.to_string(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_names_itself_and_keeps_what_it_printed() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo resolving; echo 'no such artifact' >&2; exit 3"]);
        let e = run(&mut c).expect_err("exit 3 is a failure");
        let text = e.to_string();
        assert!(
            text.starts_with("`sh -c 'echo resolving;"),
            "names the command: {text}"
        );
        assert!(text.contains("exit status: 3"), "{text}");
        assert!(text.contains("resolving\nno such artifact"), "{text}");
    }

    #[test]
    fn a_missing_program_is_a_spawn_error_naming_it() {
        let e = run(&mut Command::new("alpha-panda-no-such-program")).expect_err("missing");
        assert!(
            matches!(&e, CommandError::Spawn { command, .. } if command == "alpha-panda-no-such-program"),
            "{e}"
        );
    }

    #[test]
    fn a_long_output_keeps_its_last_lines() {
        let mut c = Command::new("sh");
        c.args(["-c", "seq 1 500; exit 1"]);
        let Err(CommandError::Failed { output, .. }) = run(&mut c) else {
            panic!("exit 1 is a failure");
        };
        assert_eq!(output.lines().count(), OUTPUT_LINES);
        assert_eq!(output.lines().last(), Some("500"));
        assert_eq!(output.lines().next(), Some("421"));
    }

    #[test]
    fn success_returns_the_output() {
        let out = run(Command::new("sh").args(["-c", "echo ok"])).expect("exit 0");
        assert_eq!(out.stdout, b"ok\n");
    }
}
