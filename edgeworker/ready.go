package edgeworker

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/pipeline"
)

// ErrNotReady reports that no cloud worker for the model answered.
var ErrNotReady = errors.New("edgeworker: no cloud worker for the model answers")

// Ready reports whether the worker can answer requests: always with
// Fallback on, otherwise when a cloud worker that serves the model (its
// micro service metadata lists the model hash) answers a $SRV.INFO request
// within a second or ctx's deadline.
func (w *Worker) Ready(ctx context.Context) error {
	if w.cfg.Fallback {
		return nil
	}
	if w.nc == nil || !w.nc.IsConnected() {
		return ErrNotReady
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	inbox := w.nc.NewRespInbox()
	sub, err := w.nc.SubscribeSync(inbox)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := w.nc.PublishRequest("$SRV.INFO."+pipeline.ServiceName, inbox, nil); err != nil {
		return err
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				return ErrNotReady
			}
			return err
		}
		var info struct {
			Metadata map[string]string `json:"metadata"`
		}
		if len(msg.Data) < 1<<20 && json.Unmarshal(msg.Data, &info) == nil &&
			slices.Contains(strings.Split(info.Metadata["model_hashes"], ","), w.hash) {
			return nil
		}
	}
}
