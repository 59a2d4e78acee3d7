// Command danube-console is a terminal console for the Danube messaging system, with an embedded
// Danube-compatible broker and headless commands that share its code.
//
//	danube-console broker [flags]              run the embedded broker on its own
//	danube-console produce -t TOPIC [flags]    publish messages
//	danube-console consume -t TOPIC -s SUB     print and acknowledge messages
//	danube-console lookup -t TOPIC             show where a topic is served
//	danube-console bench [flags]               measure throughput and latency
//
// Run "danube-console help" for the list of commands. The commands live in internal/cli; main only turns
// SIGINT and SIGTERM into the cancellation of the command's context and the command's result into the exit
// status.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/danube-console/danube-console/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
