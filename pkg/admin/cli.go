package admin

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// Exit codes of the rotor command, for scripts.
const (
	ExitOK       = 0 // done
	ExitError    = 1 // failed: the store, AWS or the configuration
	ExitUsage    = 2 // bad arguments, or a destructive command not confirmed
	ExitNotFound = 3 // the user or session named does not exist
)

// Usage is what rotor --help prints.
const Usage = `rotor: operate a Rotor deployment (sessions, accounts, signing keys).

Usage: rotor [--stack NAME] [--json] [--yes] COMMAND [ARGS]

Commands:
  sessions list --user NAME      List the user's live sessions: id, created,
                                 last used, IP, user agent, expiry.
  sessions revoke --user NAME    End every session of the user at once (its
                                 refresh tokens stop working immediately).
  sessions revoke --session ID   End one session, whoever owns it.
  revoke-all [--before TIME]     End every session in the system created
                                 before TIME (RFC 3339; default now, by AWS's
                                 clock, never this machine's: refuses to run
                                 without an answer from AWS) in one write:
                                 none of them refreshes any more.
                                 Access tokens: see keys rotate --emergency.
  users lock NAME                Lock the account: its logins fail as with a
                                 wrong password, and every session ends.
  users unlock NAME              Clear the lock.
  users mfa reset NAME           Remove the user's second factor and recovery
                                 codes (they lost both; verify who they are
                                 first): audited, the user is told, and
                                 every session of the user ends.
  users passkeys list NAME       List the user's passkeys: id, name, created,
                                 last used, AAGUID, backup eligible/state.
  users passkeys remove NAME     Remove every passkey of the user (a lost or
                                 stolen device; verify who asked first):
                                 audited, the user is told, and every
                                 session of the user ends.
  users passkeys remove NAME --id ID
                                 Remove that one passkey (its id from the
                                 list), the same way.
  keys rotate                    Rotate the signing key through Secrets
                                 Manager: the new key signs after the
                                 activation delay, the old keeps verifying.
  keys rotate --emergency        A new key that signs at once, and the old key
                                 retired: every access token signed before stops
                                 verifying within ROTOR_KEY_CACHE_TTL.
  keys rotate --mac              A new server MAC key (tags refresh and device
                                 tokens); the old one still verifies, older
                                 ones only open the TOTP factors and recovery
                                 codes stored under them.
  keys rotate --mac --emergency  The MAC key leaked: a new key, and every older
                                 one retired at once. Within ROTOR_KEY_CACHE_TTL
                                 every refresh token and device token issued
                                 before is refused: every user logs in again;
                                 every TOTP factor and recovery code is void
                                 (rotor users mfa reset, then enrol again).

  events --since 1h              Summarise the security events (failed and
                                 throttled logins, reuse, forged and refused
                                 tokens, revocations, admin actions) of the
                                 stack's CloudWatch log groups (needs --stack)
  events --file PATH --since 1h  ... or of a local log file (rotor-local's
                                 JSON lines), as a table.

Flags (anywhere after the command too, up to "--"; every argument after
"--" is a name, never a flag: rotor users lock --yes -- -help locks the user
named -help, and a flag the command does not know is an error, exit 2):
  --stack NAME  read the store (DynamoDB tables, or the PostgreSQL or Redis
                URL and credentials secret) and the signing secret from the
                CloudFormation stack's outputs; without it they come from
                ROTOR_* variables as for the functions (ROTOR_STORE,
                ROTOR_USERS_TABLE, ROTOR_SESSIONS_TABLE, ROTOR_DATABASE_URL,
                ROTOR_REDIS_URL, ..._SECRET_ID, ROTOR_SIGNING_SECRET_ID).
  --json        print JSON instead of a table.
  --yes         do not ask before a destructive command (revoke, lock, reset,
                rotate). Without a terminal and without --yes they refuse.

Every change is logged to stderr as a JSON "admin_action" event naming the
caller's AWS identity, and each ended session as "session_revoked".

Exit codes: 0 ok, 1 error, 2 usage or not confirmed, 3 user or session not found.
See docs/OPERATIONS.md for examples and the incident runbook.
`

// CLI parses a command line and runs it with an Admin.
type CLI struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Terminal says whether Stdin is a terminal a person can answer on.
	Terminal bool
	// Open builds the Admin for a stack ("" when --stack was not given).
	Open func(ctx context.Context, stack string) (*Admin, error)
	// OpenFile opens a local log for rotor events --file (os.Open when nil).
	OpenFile func(name string) (io.ReadCloser, error)
	Now      func() time.Time // time.Now when nil
}

// options are the flags every command accepts.
type options struct {
	stack string
	json  bool
	yes   bool
}

func (c *CLI) flags(name string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.stack, "stack", o.stack, "")
	fs.BoolVar(&o.json, "json", o.json, "")
	fs.BoolVar(&o.yes, "yes", o.yes, "")
	return fs
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Run runs one command line (without the program name) and returns the exit code.
func (c *CLI) Run(ctx context.Context, args []string) int {
	err := c.run(ctx, args)
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.Stdout, Usage)
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.Stderr, "rotor: %s\nRun rotor --help for usage.\n", ue.msg)
		return ExitUsage
	case errors.Is(err, errRefused):
		fmt.Fprintf(c.Stderr, "rotor: %v\n", err)
		return ExitUsage
	case errors.Is(err, ErrNotFound):
		fmt.Fprintf(c.Stderr, "rotor: %v\n", err)
		return ExitNotFound
	}
	fmt.Fprintf(c.Stderr, "rotor: %v\n", err)
	return ExitError
}

var errRefused = errors.New("not confirmed")

func (c *CLI) run(ctx context.Context, args []string) error {
	var o options
	fs := c.flags("rotor", &o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "help" {
		return flag.ErrHelp
	}
	cmd := rest[0]
	if len(rest) > 1 && (cmd == "sessions" || cmd == "users" || cmd == "keys") {
		cmd += " " + rest[1]
		rest = rest[1:]
	}
	if len(rest) > 1 && (cmd == "users mfa" || cmd == "users passkeys") {
		cmd += " " + rest[1]
		rest = rest[1:]
	}
	sub := c.flags("rotor "+cmd, &o)
	var user, session string
	var emergency, macKey bool
	var before time.Time
	var since time.Duration
	var file, passkeyID string
	switch cmd {
	case "sessions list", "sessions revoke":
		sub.StringVar(&user, "user", "", "")
		if cmd == "sessions revoke" {
			sub.StringVar(&session, "session", "", "")
		}
	case "keys rotate":
		sub.BoolVar(&emergency, "emergency", false, "")
		sub.BoolVar(&macKey, "mac", false, "")
	case "revoke-all":
		sub.Func("before", "", func(v string) error {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return errors.New("want an RFC 3339 time such as 2026-11-30T06:00:00Z")
			}
			before = t
			return nil
		})
	case "events":
		sub.DurationVar(&since, "since", time.Hour, "")
		sub.StringVar(&file, "file", "", "")
	case "users passkeys remove":
		sub.StringVar(&passkeyID, "id", "", "")
	case "users lock", "users unlock", "users mfa reset", "users passkeys list":
	default:
		return usagef("unknown command %q", strings.Join(rest[:1], " "))
	}
	pos, err := parseInterspersed(sub, rest[1:])
	if err != nil {
		return usagef("%s: %v", cmd, err)
	}
	switch cmd {
	case "users lock", "users unlock", "users mfa reset", "users passkeys remove", "users passkeys list":
		if len(pos) != 1 {
			return usagef("%s: want exactly one user name", cmd)
		}
	default:
		if len(pos) != 0 {
			return usagef("%s: unexpected argument %q", cmd, pos[0])
		}
	}
	switch cmd {
	case "sessions list":
		if user == "" {
			return usagef("sessions list: --user is required")
		}
	case "sessions revoke":
		if (user == "") == (session == "") {
			return usagef("sessions revoke: give exactly one of --user or --session")
		}
	}

	// Confirm before connecting: a refused command touches nothing.
	switch cmd {
	case "sessions revoke":
		what := "every session of user " + user
		if session != "" {
			what = "session " + session
		}
		err = c.confirm(o, "End "+what)
	case "users lock":
		err = c.confirm(o, "Lock user "+pos[0]+" and end every session of it")
	case "users mfa reset":
		err = c.confirm(o, "Remove the second factor and recovery codes of user "+pos[0]+" (have you verified who asked?) and end every session of it")
	case "users passkeys remove":
		what := "every passkey"
		if passkeyID != "" {
			what = "passkey " + passkeyID
		}
		err = c.confirm(o, "Remove "+what+" of user "+pos[0]+" (have you verified who asked?) and end every session of it")
	case "revoke-all":
		what := "End EVERY session of EVERY user created until now"
		if !before.IsZero() {
			what = "End EVERY session of EVERY user created before " + before.Format(time.RFC3339)
		}
		err = c.confirm(o, what)
	case "keys rotate":
		what := "Rotate the signing key"
		switch {
		case macKey && emergency:
			what = "EMERGENCY-rotate the MAC key: every refresh token and device token now outstanding stops verifying (every user logs in again), and every TOTP factor and recovery code stops working (each enrolled user needs rotor users mfa reset, then enrols again)"
		case macKey:
			what = "Rotate the MAC key"
		case emergency:
			what = "EMERGENCY-rotate the signing key: every access token now outstanding stops verifying"
		}
		err = c.confirm(o, what)
	}
	if err != nil {
		return err
	}

	if cmd == "events" {
		if since <= 0 {
			return usagef("events: --since must be positive, such as 1h")
		}
		return c.events(ctx, o, file, since)
	}
	a, err := c.Open(ctx, o.stack)
	if err != nil {
		return err
	}
	switch cmd {
	case "sessions list":
		list, err := a.Sessions(ctx, user)
		if err != nil {
			return err
		}
		return c.printSessions(o, list)
	case "sessions revoke":
		if session != "" {
			s, err := a.RevokeSession(ctx, session)
			if err != nil {
				return err
			}
			return c.printResult(o, map[string]any{"revoked": 1, "session_id": s.ID, "user_id": s.UserID},
				fmt.Sprintf("Ended session %s of user id %s.", s.ID, s.UserID))
		}
		n, err := a.RevokeUser(ctx, user)
		if err != nil {
			return err
		}
		return c.printResult(o, map[string]any{"revoked": n, "user": user}, fmt.Sprintf("Ended %d session(s) of %s.", n, user))
	case "users lock":
		n, err := a.Lock(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.printResult(o, map[string]any{"locked": pos[0], "revoked": n}, fmt.Sprintf("Locked %s; ended %d session(s).", pos[0], n))
	case "revoke-all":
		w, err := a.RevokeAll(ctx, before)
		if errors.Is(err, ErrBadTime) {
			return usagef("revoke-all: %v", err)
		}
		if err != nil {
			return err
		}
		return c.printResult(o, map[string]any{"revoked_before": w}, fmt.Sprintf("Every session created before %s is revoked.", w.Format(time.RFC3339Nano)))
	case "users mfa reset":
		r, err := a.ResetMFA(ctx, pos[0])
		if err != nil {
			return err
		}
		told := "no verified address to tell"
		if r.Notified {
			told = "the user is told"
		}
		return c.printResult(o, map[string]any{"mfa_reset": pos[0], "user_id": r.UserID, "notified": r.Notified, "revoked": r.Revoked},
			fmt.Sprintf("Removed the second factor of %s (%s); ended %d session(s).", pos[0], told, r.Revoked))
	case "users passkeys list":
		list, err := a.Passkeys(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.printPasskeys(o, list)
	case "users passkeys remove":
		var r PasskeysRemoved
		if passkeyID != "" {
			r, err = a.RemovePasskey(ctx, pos[0], passkeyID)
		} else {
			r, err = a.RemovePasskeys(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		told := "no verified address to tell"
		if r.Notified {
			told = "the user is told"
		}
		return c.printResult(o, map[string]any{"passkeys_removed": pos[0], "user_id": r.UserID, "removed": r.Removed, "notified": r.Notified, "revoked": r.Revoked},
			fmt.Sprintf("Removed %d passkey(s) of %s (%s); ended %d session(s).", r.Removed, pos[0], told, r.Revoked))
	case "users unlock":
		if err := a.Unlock(ctx, pos[0]); err != nil {
			return err
		}
		return c.printResult(o, map[string]any{"unlocked": pos[0]}, fmt.Sprintf("Unlocked %s.", pos[0]))
	case "keys rotate":
		if macKey {
			return c.rotateMAC(ctx, o, a, emergency)
		}
		r, err := a.RotateKeys(ctx, emergency)
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("Rotation started: version %s (signs after the activation delay).", r.VersionID)
		if emergency {
			msg = fmt.Sprintf("Emergency key %s (version %s) signs now; retired version %q.", r.Kid, r.VersionID, r.RetiredVersion)
		}
		return c.printResult(o, r, msg)
	}
	return nil
}

// rotateMAC runs keys rotate --mac and says what it ends and by when.
func (c *CLI) rotateMAC(ctx context.Context, o options, a *Admin, emergency bool) error {
	r, err := a.RotateMAC(ctx, emergency)
	if err != nil {
		return err
	}
	if !emergency {
		return c.printResult(o, map[string]any{"emergency": false, "version_id": r.VersionID, "retired_keys": r.RetiredKeys},
			fmt.Sprintf("New MAC key (version %s) tags from now on; the previous key still verifies what it tagged, until the next rotation. %d older key(s) kept only to open the TOTP factors and recovery codes stored under them (they verify no token).", r.VersionID, r.RetiredKeys))
	}
	return c.printResult(o, map[string]any{"emergency": true, "version_id": r.VersionID, "retired_versions": r.RetiredVersions, "retired_keys": 0, "refused_within": r.RefusedWithin.String()},
		fmt.Sprintf("Emergency MAC key (version %s) tags now; retired version(s) %q. Within %s (ROTOR_KEY_CACHE_TTL, once each warm function re-reads the secret) no function accepts the old key: every refresh token and device token it tagged is invalid, so every user logs in again. Every TOTP factor and recovery code stored before is void too (no older key is kept): an enrolled user's second step answers invalid_code and logs mfa_key_gone; after checking who asks, rotor users mfa reset NAME, then the user enrols again.",
			r.VersionID, r.RetiredVersions, r.RefusedWithin))
}

// events prints the summary of a local log file or of the stack's logs.
func (c *CLI) events(ctx context.Context, o options, file string, since time.Duration) error {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	start := now().Add(-since)
	var counts []EventCount
	switch {
	case file != "":
		f, err := c.openFile(file)
		if err != nil {
			return err
		}
		defer f.Close()
		if counts, err = FromFile(f, start); err != nil {
			return err
		}
	case o.stack == "":
		return usagef("events: give --stack NAME (CloudWatch Logs) or --file PATH")
	default:
		a, err := c.Open(ctx, o.stack)
		if err != nil {
			return err
		}
		if counts, err = FromCloudWatch(ctx, a.Logs, LogGroups(o.stack), start); err != nil {
			return err
		}
	}
	if o.json {
		return writeJSON(c.Stdout, counts)
	}
	w := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "EVENT\tCOUNT\tFIRST\tLAST\tMOST FREQUENT\n")
	for _, e := range counts {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", printable(e.Event, 40), e.Count, e.First.Format(time.RFC3339), e.Last.Format(time.RFC3339), printable(e.Top, 60))
	}
	if len(counts) == 0 {
		fmt.Fprintf(w, "(no events since %s)\n", start.Format(time.RFC3339))
	}
	return w.Flush()
}

func (c *CLI) openFile(name string) (io.ReadCloser, error) {
	if c.OpenFile != nil {
		return c.OpenFile(name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return f, nil
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments (users lock NAME --yes). Every argument after "--"
// is positional, whatever it looks like, and is never parsed as a flag: a
// user named -help or --yes is named after it (users lock --yes -- -help).
// Before "--", an argument starting with "-" is a flag, and one this command
// does not define is a usage error, -h and -help included: a help request
// after a command that changes something must not end as a success that
// changed nothing (rotor --help is the help).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(pos, args[i+1:]...), nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			pos = append(pos, arg)
			continue
		}
		name := strings.TrimPrefix(arg[1:], "-")
		value, hasValue := "", false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, value, hasValue = name[:j], name[j+1:], true
		}
		f := fs.Lookup(name)
		if name == "" || strings.HasPrefix(name, "-") || f == nil {
			return nil, fmt.Errorf("unknown flag %q (a name that starts with - goes after --: users lock --yes -- -name; rotor --help for usage)", arg)
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag %s needs a value", arg)
			}
			i++
			value = args[i]
		}
		if err := fs.Set(name, value); err != nil {
			return nil, fmt.Errorf("invalid value %q for flag %s: %v", value, arg, err)
		}
	}
	return pos, nil
}

// confirm asks on the terminal unless --yes; without a terminal it refuses.
func (c *CLI) confirm(o options, what string) error {
	if o.yes {
		return nil
	}
	if !c.Terminal {
		return fmt.Errorf("%w: %s: no terminal to confirm on; pass --yes", errRefused, what)
	}
	fmt.Fprintf(c.Stderr, "%s? Type yes to continue: ", what)
	line, err := bufio.NewReader(c.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("%w: %s", errRefused, what)
	}
	if strings.TrimSpace(line) != "yes" {
		return fmt.Errorf("%w: %s", errRefused, what)
	}
	return nil
}

// sessionView is one session as printed.
type sessionView struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Expires   time.Time `json:"expires"`
}

func (c *CLI) printSessions(o options, list []sessions.Session) error {
	views := make([]sessionView, 0, len(list))
	for _, s := range list {
		exp := s.ExpiresAt
		if s.AbsoluteExpiresAt.Before(exp) {
			exp = s.AbsoluteExpiresAt
		}
		views = append(views, sessionView{ID: s.ID, Created: s.CreatedAt.UTC(), LastUsed: s.LastUsedAt.UTC(), IP: s.IP, UserAgent: s.UserAgent, Expires: exp.UTC()})
	}
	if o.json {
		return writeJSON(c.Stdout, views)
	}
	w := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SESSION\tCREATED\tLAST USED\tIP\tUSER AGENT\tEXPIRES")
	for _, v := range views {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(v.ID, 40), v.Created.Format(time.RFC3339), v.LastUsed.Format(time.RFC3339), printable(v.IP, 45), printable(v.UserAgent, 40), v.Expires.Format(time.RFC3339))
	}
	return w.Flush()
}

func (c *CLI) printPasskeys(o options, list []PasskeyInfo) error {
	if o.json {
		return writeJSON(c.Stdout, list)
	}
	w := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PASSKEY\tNAME\tCREATED\tLAST USED\tAAGUID\tBACKUP ELIGIBLE\tBACKED UP")
	for _, p := range list {
		used := "never"
		if !p.LastUsedAt.IsZero() {
			used = p.LastUsedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%t\t%t\n", printable(p.ID, 64), printable(p.Name, 64), p.CreatedAt.Format(time.RFC3339), used, printable(p.AAGUID, 32), p.BackupEligible, p.BackupState)
	}
	return w.Flush()
}

func (c *CLI) printResult(o options, v any, text string) error {
	if o.json {
		return writeJSON(c.Stdout, v)
	}
	_, err := fmt.Fprintln(c.Stdout, text)
	return err
}
