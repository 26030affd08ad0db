// Package oip serves an edgeworker.Predictor over the Open Inference
// Protocol (KServe v2, as Triton, KServe, Seldon MLServer and OpenVINO
// Model Server speak it): HTTP/REST with Triton's binary tensor data and
// classification extensions, and gRPC (inference.GRPCInferenceService).
// Encoded images (PNG, JPEG) travel as BYTES inputs, base64 in JSON with
// "parameters": {"content_type": "base64"} (MLServer's convention) or raw
// through the binary extension, and are preprocessed by the model's
// declaration. Both transports call Predictor.Predict.
//
// Errors are the protocol's: a status code and {"error": "..."} (a gRPC
// status on gRPC): 400 for a request the model cannot take, 404 for an
// unknown model, 413 for a body over the limit, 503 when overloaded or no
// cloud worker answers, 504 for an expired deadline.
package oip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/pipeline"
)

// Errors of the server, matched with errors.Is.
var (
	ErrUnknownModel = errors.New("oip: unknown model")
	ErrTooLarge     = errors.New("oip: request body over the limit")
	ErrMalformed    = errors.New("oip: malformed request")
)

// DefaultMaxBodyBytes bounds a request body (Config.MaxBodyBytes).
const DefaultMaxBodyBytes = 16 << 20

// Config configures a Server. Zero fields take the defaults documented on
// each field.
type Config struct {
	// MaxBodyBytes bounds an HTTP request body and a gRPC message
	// (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Ready reports whether the server can answer inference requests (e.g.
	// edgeworker.Worker.Ready); nil: always.
	Ready func(context.Context) error
	// Name and Version are the server's, in its metadata (default
	// "splitinfer" and "dev").
	Name, Version string
	// DrainTimeout bounds how long Serve waits for requests in flight after
	// ctx ends (default 30s).
	DrainTimeout time.Duration
	// Logger logs listener errors (default slog.Default()).
	Logger *slog.Logger
}

// Server serves one model's Predictor.
type Server struct {
	p   *edgeworker.Predictor
	cfg Config
}

// Extensions are the protocol extensions the server implements.
var Extensions = []string{"binary_tensor_data", "classification"}

// New makes a Server for p. Defaults: see Config.
func New(p *edgeworker.Predictor, cfg Config) (*Server, error) {
	if p == nil {
		return nil, errors.New("oip: nil Predictor")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBodyBytes < 1024 || cfg.MaxBodyBytes > 1<<30 {
		return nil, fmt.Errorf("oip: MaxBodyBytes %d out of 1 KiB..1 GiB", cfg.MaxBodyBytes)
	}
	if cfg.Name == "" {
		cfg.Name = "splitinfer"
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{p: p, cfg: cfg}, nil
}

// ready reports the server's readiness.
func (s *Server) ready(ctx context.Context) error {
	if s.cfg.Ready == nil {
		return nil
	}
	return s.cfg.Ready(ctx)
}

// model checks a request's model name and version.
func (s *Server) model(name, version string) error {
	info := s.p.Model()
	if name != info.Name {
		return fmt.Errorf("%w %q (this server serves %q)", ErrUnknownModel, name, info.Name)
	}
	if version != "" && version != info.Version {
		return fmt.Errorf("%w %q version %q (this server serves version %q)", ErrUnknownModel, name, version, info.Version)
	}
	return nil
}

// Status is the HTTP status of an error of Predict or of the server.
func Status(err error) int {
	var pe *pipeline.Error
	switch {
	case errors.Is(err, edgeworker.ErrInvalidInput), errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownModel):
		return http.StatusNotFound
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, edgeworker.ErrOverloaded), errors.Is(err, edgeworker.ErrNoCloud), errors.Is(err, edgeworker.ErrNotReady):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.As(err, &pe):
		switch pe.Code {
		case pipeline.CodeQueueFull:
			return http.StatusServiceUnavailable
		case pipeline.CodeDeadline:
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway // the cloud refused what the edge sent
	}
	return http.StatusInternalServerError
}

// Serve serves HTTP/REST on httpLn and gRPC on grpcLn (either may be nil)
// until ctx ends, then stops taking requests and answers those in flight
// (at most Config.DrainTimeout) before it returns. It closes the listeners.
func (s *Server) Serve(ctx context.Context, httpLn, grpcLn net.Listener) error {
	if httpLn == nil && grpcLn == nil {
		return errors.New("oip: no listener")
	}
	errs := make(chan error, 2)
	running := 0
	var hs *http.Server
	if httpLn != nil {
		hs = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)}
		running++
		go func() {
			err := hs.Serve(httpLn)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errs <- err
		}()
	}
	var gs *grpc.Server
	if grpcLn != nil {
		gs = s.GRPCServer()
		running++
		go func() { errs <- gs.Serve(grpcLn) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
		running--
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.DrainTimeout)
	defer cancel()
	if hs != nil {
		if e := hs.Shutdown(dctx); e != nil {
			err = errors.Join(err, fmt.Errorf("oip: draining HTTP: %w", e))
		}
	}
	if gs != nil {
		done := make(chan struct{})
		go func() { gs.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-dctx.Done():
			gs.Stop()
			<-done
		}
	}
	for ; running > 0; running-- {
		if e := <-errs; e != nil {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		return fmt.Errorf("oip: %w", err)
	}
	return nil
}

// ListenAndServe listens on httpAddr (HTTP/REST) and grpcAddr (gRPC), each
// when not empty, calls onListen (if not nil) with each bound address, and
// serves until ctx ends, then drains (see Serve).
func (s *Server) ListenAndServe(ctx context.Context, httpAddr, grpcAddr string, onListen func(kind, addr string)) error {
	var lns [2]net.Listener
	for i, addr := range []string{httpAddr, grpcAddr} {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				if l != nil {
					l.Close()
				}
			}
			return fmt.Errorf("oip: %w", err)
		}
		lns[i] = ln
		if onListen != nil {
			onListen([]string{"HTTP", "gRPC"}[i], ln.Addr().String())
		}
	}
	return s.Serve(ctx, lns[0], lns[1])
}
