// Command danube-console is a terminal console for the Danube messaging system, with an embedded
// Danube-compatible broker and headless commands that share its code.
//
//	danube-console broker [flags]              run the embedded broker on its own
//	danube-console produce -t TOPIC [flags]    publish messages
//	danube-console consume -t TOPIC -s SUB     print and acknowledge messages
//	danube-console lookup -t TOPIC             show where a topic is served
//	danube-console bench [flags]               measure throughput and latency
//
// Run "danube-console help" for the list of commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one subcommand: it parses its own flags from args and returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// noInput adapts a command that does not read stdin.
func noInput(f func(ctx context.Context, args []string, stdout, stderr io.Writer) int) func(context.Context, []string, io.Reader, io.Writer, io.Writer) int {
	return func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
		return f(ctx, args, stdout, stderr)
	}
}

func commands() []command {
	return []command{
		{"console", "open the console (what danube-console does without a command)", noInput(runConsole)},
		{"broker", "run the embedded Danube-compatible broker on its own", noInput(runBroker)},
		{"produce", "publish messages from flags, a file, JSONL or stdin", runProduce},
		{"consume", "print (and acknowledge) the messages of a subscription", noInput(runConsume)},
		{"lookup", "show the broker that serves a topic and its partitions", noInput(runLookup)},
		{"bench", "measure publish throughput and latencies", noInput(runBench)},
		{"connect", "run the connectors of a configuration file (sources and sinks)", noInput(runConnect)},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runWithInput(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand with an empty stdin.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithInput(ctx, args, strings.NewReader(""), stdout, stderr)
}

// runWithInput dispatches to a subcommand and returns the exit code: 0 on success, 1 on failure, 2 on bad
// usage.
func runWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		return runConsole(ctx, args, stdout, stderr)
	}
	switch args[0] {
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "danube-console: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: danube-console [flags]            the console: on an embedded broker with a demo pipeline,")
	fmt.Fprintln(w, "                                         or on a cluster with --service-url (flags: danube-console console --help)")
	fmt.Fprintln(w, "       danube-console <command> [flags]  a headless command")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "danube-console <command> --help" for a command's flags.`)
}
