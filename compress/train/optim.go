package train

import "math"

// Optimizer updates parameters from their gradients (Param.Grad).
type Optimizer interface {
	Step(params []*Param)
	// SetLR changes the learning rate.
	SetLR(lr float32)
	// LearningRate is the current learning rate.
	LearningRate() float32
}

// SGD is stochastic gradient descent with momentum, as PyTorch's
// torch.optim.SGD: v = μ·v + g; p -= lr·v.
type SGD struct {
	LR, Momentum float32
	v            [][]float32
}

// NewSGD returns SGD with the given learning rate and momentum.
func NewSGD(lr, momentum float32) *SGD { return &SGD{LR: lr, Momentum: momentum} }

// SetLR implements Optimizer.
func (o *SGD) SetLR(lr float32) { o.LR = lr }

// LearningRate implements Optimizer.
func (o *SGD) LearningRate() float32 { return o.LR }

// Step implements Optimizer.
func (o *SGD) Step(params []*Param) {
	if o.v == nil && o.Momentum != 0 {
		o.v = make([][]float32, len(params))
		for i, p := range params {
			o.v[i] = make([]float32, len(p.Data))
		}
	}
	for i, p := range params {
		if o.Momentum == 0 {
			for j, g := range p.Grad {
				p.Data[j] -= o.LR * g
			}
			continue
		}
		v := o.v[i]
		for j, g := range p.Grad {
			v[j] = o.Momentum*v[j] + g
			p.Data[j] -= o.LR * v[j]
		}
	}
}

// Adam is torch.optim.Adam (bias-corrected moments, eps outside the square root).
type Adam struct {
	LR, Beta1, Beta2, Eps float32
	t                     int
	m, v                  [][]float32
}

// NewAdam returns Adam with PyTorch's defaults (betas 0.9, 0.999, eps 1e-8).
func NewAdam(lr float32) *Adam { return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// SetLR implements Optimizer.
func (o *Adam) SetLR(lr float32) { o.LR = lr }

// LearningRate implements Optimizer.
func (o *Adam) LearningRate() float32 { return o.LR }

// Step implements Optimizer.
func (o *Adam) Step(params []*Param) {
	if o.m == nil {
		o.m = make([][]float32, len(params))
		o.v = make([][]float32, len(params))
		for i, p := range params {
			o.m[i] = make([]float32, len(p.Data))
			o.v[i] = make([]float32, len(p.Data))
		}
	}
	o.t++
	bc1 := 1 - math.Pow(float64(o.Beta1), float64(o.t))
	bc2 := 1 - math.Pow(float64(o.Beta2), float64(o.t))
	stepSize := float32(float64(o.LR) / bc1)
	sq2 := float32(math.Sqrt(bc2))
	b1, b2 := o.Beta1, o.Beta2
	for i, p := range params {
		m, v := o.m[i], o.v[i]
		for j, g := range p.Grad {
			m[j] = b1*m[j] + (1-b1)*g
			v[j] = b2*v[j] + (1-b2)*g*g
			den := float32(math.Sqrt(float64(v[j])))/sq2 + o.Eps
			p.Data[j] -= stepSize * m[j] / den
		}
	}
}

// ApplyMasks zeroes the pruned weights (mask 0) of every masked parameter.
func (n *Net) ApplyMasks() {
	for _, p := range n.Params {
		if p.Mask == nil {
			continue
		}
		for j, m := range p.Mask {
			if m == 0 {
				p.Data[j] = 0 // +0, not -0: file formats store exact zeros sparsely
			}
		}
	}
}
