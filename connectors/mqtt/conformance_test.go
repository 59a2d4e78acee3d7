package mqtt

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/danube-console/danube-console/connectors/connectortest"
	"github.com/danube-console/danube-console/internal/testenv"
)

// persistentMosquitto starts a broker that keeps sessions and queued messages across Stop and Start, as
// FailureRecovery restarts it and at-least-once needs the durable sessions to survive.
func persistentMosquitto(t testing.TB) *testenv.Mosquitto {
	m := testenv.NewPersistentMosquitto(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.Log())
		}
	})
	return m
}

var emitSeq atomic.Int64

// emit publishes ids (QoS 1) to topic, reconnecting and resuming until all were acknowledged or ctx ends.
func emit(ctx context.Context, broker, topic string, ids []string) error {
	id := "emit-" + strconv.FormatInt(emitSeq.Add(1), 10)
	var cl paho.Client
	defer func() {
		if cl != nil {
			cl.Disconnect(50)
		}
	}()
	for i := 0; i < len(ids); {
		if cl == nil {
			c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetAutoReconnect(false).
				SetConnectTimeout(time.Second))
			if err := wait(ctx, c.Connect()); err != nil {
				c.Disconnect(0)
				if ctx.Err() != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond) // a reconnect backoff, not a wait
				continue
			}
			cl = c
		}
		if err := wait(ctx, cl.Publish(topic, 1, false, ids[i])); err != nil {
			if ctx.Err() != nil {
				return err
			}
			cl.Disconnect(0)
			cl = nil
			continue
		}
		i++
	}
	return nil
}

// TestConformanceSource runs the runtime's conformance suite on the source; FailureRecovery restarts the
// MQTT broker.
func TestConformanceSource(t *testing.T) {
	get := func(f *connectortest.Fixture) *testenv.Mosquitto { return f.State.(*testenv.Mosquitto) }
	connectortest.Conformance(t, connectortest.Harness{
		Kind: SourceKind,
		Settings: func(f *connectortest.Fixture) map[string]any {
			m := persistentMosquitto(f.TB)
			f.State = m
			return map[string]any{"broker": m.URL(), "topics": []any{"conformance/#"}, "qos": int64(1),
				"keep_alive": "2s", "connect_timeout": "2s"}
		},
		Emit: func(ctx context.Context, f *connectortest.Fixture, ids []string) error {
			return emit(ctx, get(f).URL(), "conformance/in", ids)
		},
		Break: func(f *connectortest.Fixture) (func(), error) {
			m := get(f)
			m.Stop(f.TB)
			return func() { m.Start(f.TB) }, nil
		},
	})
}

// collector is a durable MQTT subscriber that outlives broker restarts.
type collector struct {
	cl     paho.Client
	mu     sync.Mutex
	got    []string
	probed atomic.Bool // a probe came back: the collector is subscribed
}

// probePayload is the payload of the messages that check the collector's subscription; they are not
// collected.
const probePayload = "collector-probe"

func collect(t testing.TB, broker, filter string) *collector {
	c := &collector{}
	handler := func(_ paho.Client, m paho.Message) {
		if string(m.Payload()) == probePayload {
			c.probed.Store(true)
			return
		}
		c.mu.Lock()
		c.got = append(c.got, string(m.Payload()))
		c.mu.Unlock()
	}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID("collector").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(cl paho.Client) { cl.Subscribe(filter, 1, nil) })
	c.cl = paho.NewClient(opts)
	if tok := c.cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("collector: %v", tok.Error())
	}
	// Subscribed once a probe comes back.
	probe := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("probe"))
	if tok := probe.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("probe: %v", tok.Error())
	}
	defer probe.Disconnect(50)
	testenv.Eventually(t, 10*time.Second, func() bool {
		probe.Publish(filter[:len(filter)-1]+"probe", 1, false, probePayload).WaitTimeout(5 * time.Second)
		return c.probed.Load()
	}, "collector: not subscribed")
	t.Cleanup(func() { c.cl.Disconnect(100) })
	return c
}

// TestConformanceSink runs the runtime's conformance suite on the sink; FailureRecovery restarts the MQTT
// broker.
func TestConformanceSink(t *testing.T) {
	type world struct {
		m *testenv.Mosquitto
		c *collector
	}
	get := func(f *connectortest.Fixture) world { w, _ := f.State.(world); return w }
	connectortest.Conformance(t, connectortest.Harness{
		Kind: SinkKind,
		Settings: func(f *connectortest.Fixture) map[string]any {
			m := persistentMosquitto(f.TB)
			c := collect(f.TB, m.URL(), "conformance/#")
			f.State = world{m: m, c: c}
			return map[string]any{"broker": m.URL(), "mqtt_topic": "conformance/out", "qos": int64(1),
				"keep_alive": "2s", "connect_timeout": "2s", "publish_timeout": "2s"}
		},
		Delivered: func(f *connectortest.Fixture) ([]string, error) {
			c := get(f).c
			if c == nil {
				return nil, errors.New("no collector")
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			return append([]string(nil), c.got...), nil
		},
		Break: func(f *connectortest.Fixture) (func(), error) {
			m := get(f).m
			m.Stop(f.TB)
			return func() { m.Start(f.TB) }, nil
		},
	})
}
