// Command demo runs the console against the scripted fake backend of package tuitest, with live-looking
// data: rates move and messages keep arriving, also on a manual-ack tap (tap-1) to ack and nack. It needs
// no broker:
//
//	go run ./tui/tuitest/demo [-theme light] [-read-only] [-history FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui"
	"github.com/danube-console/danube-console/tui/tuitest"
)

func main() {
	theme := flag.String("theme", "", "theme name or file")
	ro := flag.Bool("read-only", false, "disable actions")
	big := flag.Bool("big", false, "use the large data set")
	history := flag.String("history", "", "keep the command history in this file")
	flag.Parse()
	th, err := themes.Select(*theme, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	f := tuitest.Manual()
	if *big {
		f = tuitest.Big()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The scripted data is dated around tuitest.Epoch: run the clock from there.
	start := time.Now()
	clock := func() time.Time { return tuitest.Epoch.Add(time.Since(start)) }
	go animate(ctx, f, clock)
	if err := tui.Run(ctx, f, tui.Options{Theme: th, ReadOnly: *ro, Clock: clock, HistoryFile: *history}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// animate moves the fake's data along every 100ms.
func animate(ctx context.Context, f *tuitest.Fake, clock func() time.Time) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := clock()
			var streams []monitor.ConsumerStats
			f.Update(func(s *monitor.Snapshot) {
				s.Time = now
				for i := range s.Health {
					s.Health[i].At = now.Add(-time.Duration(i) * time.Second)
				}
				if n%10 == 0 {
					for i := range s.Producers {
						p := &s.Producers[i]
						p.Series = append(p.Series[1:], p.Series[(n/10+i*13)%len(p.Series)])
						p.MsgRate = p.Series[len(p.Series)-1]
					}
					for i := range s.Consumers {
						c := &s.Consumers[i]
						c.Series = append(c.Series[1:], c.Series[(n/10+i*7)%len(c.Series)])
						c.Rate = c.Series[len(c.Series)-1]
					}
				}
				streams = s.Consumers
			})
			for _, c := range streams {
				msgs := tuitest.Messages(c.Topic, c.Subscription, c.Name, 1+n%5, now)
				for i := range msgs {
					msgs[i].Seq = uint64(n*10 + i + 1_000_000)
					msgs[i].ReceivedAt = now
					if c.ManualAck {
						// A manual-ack tap's messages wait for a or n until their deadline.
						msgs[i].State, msgs[i].AckDeadline = monitor.StatePending, now.Add(c.AckTimeout)
					}
				}
				f.Append(c.Stream, 1000, msgs...)
			}
		}
	}
}
