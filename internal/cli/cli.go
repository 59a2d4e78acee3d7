// Package cli holds danube-console's commands, one file each: console, broker (and "broker token"),
// produce, consume, lookup, bench and connect, plus the connection flags the client commands share.
//
// Every command splits in two steps. Its parse function turns the command line into a plain configuration
// struct (pflag flags → XxxConfig), reporting bad usage as an error before anything starts; its run
// function (RunXxx(ctx, cfg, streams)) does the work with that configuration and returns an error. Tests
// call either step in process. Main ties them together for the binary: it picks the command, prints every
// error the one way (see report) and turns it into the exit status.
//
// Nothing but the danube-console main package imports cli.
package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Streams are the standard streams of a command. In is only read by commands that take input (produce).
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Command is one subcommand of danube-console.
type Command struct {
	Name    string
	Summary string
	// Main parses args (the command line after the command's name), runs the command until it is done or
	// ctx is cancelled (SIGINT or SIGTERM in the binary) and returns the process exit status: 0 on success
	// and after --help, 1 on failure, 2 on bad usage.
	Main func(ctx context.Context, args []string, s Streams) int
}

// Commands returns danube-console's subcommands in the order the help lists them.
func Commands() []Command {
	return []Command{
		command("console", "open the console (what danube-console does without a command)", ParseConsole, RunConsole),
		{Name: "broker", Summary: "run the embedded Danube-compatible broker on its own", Main: brokerMain},
		command("produce", "publish messages from flags, a file, JSONL or stdin", ParseProduce, RunProduce),
		command("consume", "print (and acknowledge) the messages of a subscription", ParseConsume, RunConsume),
		command("lookup", "show the broker that serves a topic and its partitions", ParseLookup, RunLookup),
		command("bench", "measure publish and delivery rates, consumer lag and latencies", ParseBench, RunBench),
		command("connect", "run the connectors of a configuration file (sources and sinks)", ParseConnect, RunConnect),
	}
}

// command builds a Command from its parse and run steps.
func command[C any](name, summary string, parse func(args []string, stderr io.Writer) (C, error),
	run func(ctx context.Context, cfg C, s Streams) error) Command {
	return Command{Name: name, Summary: summary, Main: func(ctx context.Context, args []string, s Streams) int {
		cfg, err := parse(args, s.Err)
		if err != nil {
			return report(s.Err, name, err)
		}
		return report(s.Err, name, run(ctx, cfg, s))
	}}
}

// Main runs the danube-console command line args (without the program name) and returns the exit status:
// the console when args is empty or starts with a flag, else the command args[0] names, or the help.
func Main(ctx context.Context, args []string, s Streams) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		c, _ := lookup("console")
		return c.Main(ctx, args, s)
	}
	switch args[0] {
	case "help", "-h", "--help":
		usage(s.Out)
		return 0
	}
	if c, ok := lookup(args[0]); ok {
		return c.Main(ctx, args[1:], s)
	}
	fmt.Fprintf(s.Err, "danube-console: unknown command %q\n\n", args[0])
	usage(s.Err)
	return 2
}

// lookup returns the command called name.
func lookup(name string) (Command, bool) {
	for _, c := range Commands() {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: danube-console [flags]            the console: on an embedded broker with a demo pipeline,")
	fmt.Fprintln(w, "                                         or on a cluster with --service-url or --cluster (flags: danube-console console --help)")
	fmt.Fprintln(w, "       danube-console <command> [flags]  a headless command")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range Commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "danube-console <command> --help" for a command's flags.`)
}
