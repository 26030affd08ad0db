package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Code is a reply's error code, carried in the Nats-Service-Error-Code
// header (as nats.go micro does) and in the reply body.
type Code int

// Error codes. They follow HTTP's meanings.
const (
	CodeOK            Code = 0
	CodeBadRequest    Code = 400 // malformed message or tensor, unknown cut
	CodeModelMismatch Code = 409 // the request's model hash is not the worker's
	CodeTooLarge      Code = 413 // message or decoded payload above the caps
	CodeInternal      Code = 500 // the worker failed
	CodeQueueFull     Code = 503 // the bounded queue is full or the worker is stopping
	CodeDeadline      Code = 504 // the request's deadline passed before it ran
)

// Header names of nats.go micro's error replies.
const (
	HeaderErrorCode = "Nats-Service-Error-Code"
	HeaderError     = "Nats-Service-Error"
)

// Error is a coded pipeline error. errors.Is matches two *Error values with
// the same code, so errors.Is(err, ErrQueueFull) works on any 503.
type Error struct {
	Code    Code
	Message string
	// RetryAfter is a 503's hint: how long the worker expects to be busy
	// (HeaderRetryAfter; 0 when it gave none).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("pipeline: %d %s", int(e.Code), e.Message)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels, one per code, for errors.Is.
var (
	ErrBadRequest    = &Error{Code: CodeBadRequest, Message: "bad request"}
	ErrModelMismatch = &Error{Code: CodeModelMismatch, Message: "model hash mismatch"}
	ErrTooLarge      = &Error{Code: CodeTooLarge, Message: "message too large"}
	ErrInternal      = &Error{Code: CodeInternal, Message: "internal error"}
	ErrQueueFull     = &Error{Code: CodeQueueFull, Message: "queue full"}
	ErrDeadline      = &Error{Code: CodeDeadline, Message: "deadline expired"}
)

// Errorf makes a coded error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError converts err to a coded error: an *Error in its chain is
// returned as is, anything else becomes a 500.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e == err {
			return e
		}
		// A wrapped sentinel: keep its code and the detailed message.
		msg := strings.TrimPrefix(err.Error(), e.Error()+": ")
		return &Error{Code: e.Code, Message: msg}
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}

// ErrorHeaders returns the micro error headers for err.
func ErrorHeaders(err *Error) nats.Header {
	return nats.Header{
		HeaderErrorCode: []string{strconv.Itoa(int(err.Code))},
		HeaderError:     []string{err.Message},
	}
}

// ErrorFromHeaders returns the coded error that reply headers carry, or
// nil when they carry none. An unparsable code counts as a 500.
func ErrorFromHeaders(h nats.Header) *Error {
	c := h.Get(HeaderErrorCode)
	if c == "" {
		return nil
	}
	code, err := strconv.Atoi(c)
	if err != nil || code <= 0 {
		code = int(CodeInternal)
	}
	msg := h.Get(HeaderError)
	if msg == "" {
		msg = "error " + c
	}
	return &Error{Code: Code(code), Message: msg, RetryAfter: retryAfterHeader(h.Get(HeaderRetryAfter))}
}
