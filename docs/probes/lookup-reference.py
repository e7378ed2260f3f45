# E20 (docs/results.md): an independent PyTorch 1.13 (Debian python3-torch) 2-layer Llama-style model on the drill,
# to check that Deepen's trainer is not why the look-up is slow to learn. Reads a training and a validation drill file
# (made by lookup-drill.py: 3 40000 1 d3.jsonl; 3 300 2 d3v.jsonl val).
# usage: /usr/bin/python3 lookup-reference.py STEPS LR [TRAIN.jsonl VAL.jsonl]   (E20: 600 3e-3 d3.jsonl d3v.jsonl)
# Independent check: does a plain PyTorch 2-layer Llama-style model learn the dense look-up drill in 600 steps?
import json, math, random, sys, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0); random.seed(0); torch.set_num_threads(2)
steps=int(sys.argv[1]) if len(sys.argv)>1 else 600; lr=float(sys.argv[2]) if len(sys.argv)>2 else 3e-3
train_file=sys.argv[3] if len(sys.argv)>3 else 'd3.jsonl'; val_file=sys.argv[4] if len(sys.argv)>4 else 'd3v.jsonl'
docs=[json.loads(l)['text'] for l in open(train_file)]
val=[json.loads(l) for l in open(val_file)]
chars=sorted(set(''.join(docs))|set(''.join(v['text'] for v in val))); stoi={c:i+1 for i,c in enumerate(chars)}; EOS=0; V=len(chars)+1
ids=[];mask=[]
for d in docs:
    t=[stoi[c] for c in d]+[EOS]; k=d.index('.')
    ids+=t; mask+=[0]*(k+1)+[1]*(len(t)-k-1)   # labels after the first '.' (as answer_marker '.')
ids=torch.tensor(ids); mask=torch.tensor(mask)
T=128; B=16; d=128; H=4; L=2
class RMS(nn.Module):
    def __init__(s): super().__init__(); s.w=nn.Parameter(torch.ones(d))
    def forward(s,x): return x*torch.rsqrt(x.pow(2).mean(-1,keepdim=True)+1e-5)*s.w
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.n1=RMS(); s.qkv=nn.Linear(d,3*d,bias=False); s.o=nn.Linear(d,d,bias=False)
        s.n2=RMS(); s.g=nn.Linear(d,384,bias=False); s.u=nn.Linear(d,384,bias=False); s.dn=nn.Linear(384,d,bias=False)
    def forward(s,x,cos,sin):
        b,t,_=x.shape; q,k,v=s.qkv(s.n1(x)).view(b,t,3,H,d//H).permute(2,0,3,1,4)
        def rope(z): z1,z2=z[...,:d//H//2],z[...,d//H//2:]; return torch.cat([z1*cos-z2*sin,z2*cos+z1*sin],-1)
        qq,kk=rope(q),rope(k); att=(qq@kk.transpose(-1,-2))/math.sqrt(d//H); att=att.masked_fill(torch.ones(t,t,dtype=torch.bool).triu(1),float('-inf')).softmax(-1); a=(att@v).transpose(1,2).reshape(b,t,d)
        x=x+s.o(a); h=s.n2(x); return x+s.dn(F.silu(s.g(h))*s.u(h))
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.e=nn.Embedding(V,d); s.bs=nn.ModuleList([Block() for _ in range(L)]); s.n=RMS(); s.h=nn.Linear(d,V,bias=False)
        hd=d//H; inv=1/(10000**(torch.arange(0,hd//2)/(hd//2))); f=torch.outer(torch.arange(512).float(),inv); s.register_buffer('cos',f.cos()); s.register_buffer('sin',f.sin())
    def forward(s,x):
        t=x.shape[1]; h=s.e(x)
        for b in s.bs: h=b(h,s.cos[:t],s.sin[:t])
        return s.h(s.n(h))
m=M()
for p in m.parameters():
    if p.dim()==2: nn.init.normal_(p,std=0.02)
opt=torch.optim.AdamW(m.parameters(),lr=lr,weight_decay=0)
n=(len(ids)-1)//(T+1)
for step in range(steps):
    w=min(1,(step+1)/(0.05*steps)); c=1 if step<0.7*steps else (steps-step)/(0.3*steps)
    for g in opt.param_groups: g['lr']=lr*w*c
    rows=torch.randint(0,n,(B,))*(T+1); x=torch.stack([ids[r:r+T+1] for r in rows]); mk=torch.stack([mask[r+1:r+T+1] for r in rows])
    logits=m(x[:,:-1]); y=x[:,1:].clone(); y[mk==0]=-100
    loss=F.cross_entropy(logits.reshape(-1,V),y.reshape(-1)); opt.zero_grad(); loss.backward(); opt.step()
    if step%100==0 or step==steps-1:
        with torch.no_grad():
            ok=0
            for v in val:
                q=torch.tensor([[stoi[c] for c in v['question']]]); ok+=int(m(q)[0,-1].argmax().item()==stoi[v['answer']])
        print(step, round(loss.item(),4), 'val acc', ok/len(val), flush=True)
