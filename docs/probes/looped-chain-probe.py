# E26 (docs/results.md): /usr/bin/python3 looped-chain-probe.py loop 2000 4 6
# Probe: does a tiny looped transformer (prelude 1, core 2 looped r times, coda 1) learn mod-10 chains
# with answer-only loss, and does accuracy grow with test recurrence? Independent of Deepen (PyTorch 1.13).
# usage: /usr/bin/python3 looped-chain-probe.py MODE STEPS [RBAR] [MAXLEN] [SEED]   MODE = loop | static (RBAR 4, MAXLEN 8, SEED 0 by default)
import math, random, sys, time, torch, torch.nn as nn, torch.nn.functional as F
mode=sys.argv[1]; steps=int(sys.argv[2]); rbar=float(sys.argv[3]) if len(sys.argv)>3 else 4; maxlen=int(sys.argv[4]) if len(sys.argv)>4 else 8
seed=int(sys.argv[5]) if len(sys.argv)>5 else 0
torch.manual_seed(seed); random.seed(seed); torch.set_num_threads(1)
V=15; BOS=14; EQ=13; d=128; H=4; B=256
def chain(n, rng):
    v=rng.randrange(10); t=[BOS,v]
    for _ in range(n):
        o=rng.randrange(3); a=rng.randrange(10); t+=[10+o,a]
        v=(v+a)%10 if o==0 else (v-a)%10 if o==1 else (v*a)%10
    return t+[EQ], v
class RMS(nn.Module):
    def __init__(s): super().__init__(); s.w=nn.Parameter(torch.ones(d))
    def forward(s,x): return x*torch.rsqrt(x.pow(2).mean(-1,keepdim=True)+1e-5)*s.w
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.n1=RMS(); s.qkv=nn.Linear(d,3*d,bias=False); s.o=nn.Linear(d,d,bias=False)
        s.n2=RMS(); s.g=nn.Linear(d,384,bias=False); s.u=nn.Linear(d,384,bias=False); s.dn=nn.Linear(384,d,bias=False)
    def forward(s,x,cos,sin,mask):
        b,t,_=x.shape; q,k,v=s.qkv(s.n1(x)).view(b,t,3,H,d//H).permute(2,0,3,1,4)
        def rope(z): z1,z2=z[...,:d//H//2],z[...,d//H//2:]; return torch.cat([z1*cos-z2*sin,z2*cos+z1*sin],-1)
        att=(rope(q)@rope(k).transpose(-1,-2))/math.sqrt(d//H); att=att.masked_fill(mask,float('-inf')).softmax(-1)
        x=x+s.o((att@v).transpose(1,2).reshape(b,t,d)); h=s.n2(x); return x+s.dn(F.silu(s.g(h))*s.u(h))
class M(nn.Module):
    def __init__(s, loop):
        super().__init__(); s.loop=loop; s.e=nn.Embedding(V,d); s.n=RMS(); s.h=nn.Linear(d,10,bias=False)
        s.pre=nn.ModuleList([Block()]); s.core=nn.ModuleList([Block(),Block()]); s.coda=nn.ModuleList([Block()])
        if loop: s.adapter=nn.Linear(2*d,d,bias=False)
        hd=d//H; inv=1/(10000**(torch.arange(0,hd//2)/(hd//2))); f=torch.outer(torch.arange(64).float(),inv); s.register_buffer('cos',f.cos()); s.register_buffer('sin',f.sin())
    def forward(s,x,r=1,k=4):
        t=x.shape[1]; cos,sin=s.cos[:t],s.sin[:t]; mask=torch.ones(t,t,dtype=torch.bool).triu(1)
        h=s.e(x)
        for b in s.pre: h=b(h,cos,sin,mask)
        if s.loop:
            st=torch.randn_like(h)*math.sqrt(2/(5*d))
            for i in range(r):
                if i==r-k: st=st.detach()
                st=s.adapter(torch.cat([st,h],-1))
                for b in s.core: st=b(st,cos,sin,mask)
            h=st
        else:
            for b in s.core: h=b(h,cos,sin,mask)
        for b in s.coda: h=b(h,cos,sin,mask)
        return s.h(s.n(h[:,-1]))
m=M(mode=='loop')
for p in m.parameters():
    if p.dim()==2: nn.init.normal_(p,std=0.02)
opt=torch.optim.AdamW(m.parameters(),lr=1e-3,weight_decay=0)
rng=random.Random(seed); erng=random.Random(1000+seed)
def draw_r():
    if mode!='loop': return 1
    tau=math.log(rbar)-0.5*0.5**2; lam=math.exp(random.gauss(tau,0.5)); 
    # Poisson(lam)+1 (knuth)
    L=math.exp(-lam); k=0; p=1.0
    while True:
        p*=random.random()
        if p<L: break
        k+=1
    return min(k+1, 32)
test={n:[chain(n,erng) for _ in range(200)] for n in range(1,13)}
def evaluate(r):
    m.eval(); out={}
    with torch.no_grad():
        for n,ps in test.items():
            x=torch.tensor([p[0] for p in ps]); y=torch.tensor([p[1] for p in ps])
            out[n]=(m(x,r,99).argmax(-1)==y).float().mean().item()
    m.train(); return out
t0=time.time()
for step in range(steps):
    w=min(1,(step+1)/(0.05*steps)); c=1 if step<0.7*steps else max(0.01,(steps-step)/(0.3*steps))
    for g in opt.param_groups: g['lr']=1e-3*w*c
    n=rng.randint(1,maxlen)   # one length per batch, so rows share a shape
    ps=[chain(n,rng) for _ in range(B)]; x=torch.tensor([p[0] for p in ps]); y=torch.tensor([p[1] for p in ps])
    r=draw_r(); loss=F.cross_entropy(m(x,r),y); opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(m.parameters(),1.0); opt.step()
    if step%500==0 or step==steps-1:
        print(step, round(loss.item(),3), f'{time.time()-t0:.0f}s', flush=True)
rs=[1,2,4,8,16] if mode=='loop' else [1]
for r in rs:
    a=evaluate(r); print('r',r,' '.join(f'{n}:{a[n]*100:.0f}' for n in a), 'mean1-8 %.1f'%(100*sum(a[n] for n in range(1,9))/8), flush=True)
