import sharp from 'sharp';
const W=1024,H=1024;
const noise = Buffer.alloc(W*H*3); for (let i=0;i<noise.length;i++) noise[i]=(Math.random()*256)|0;
function natural(grain){ const nat = Buffer.alloc(W*H*3); let seed=1; const rnd=()=>((seed=Math.imul(seed,1664525)+1013904223)>>>0)/4294967296;
for (let y=0;y<H;y++) for (let x=0;x<W;x++){ let r=200-y*0.08+10*Math.sin(x/40), g=190-y*0.06, b=180-y*0.1+8*Math.cos(y/33); const dx=(x-520)/260, dy=(y-560)/300; const d=dx*dx+dy*dy; if(d<1){ const s=0.5+0.5*(1-d); r=140*s+40+20*Math.sin(x/7)*s; g=70*s+30; b=40*s+20; } const dx2=(x-250)/90, dy2=(y-300)/90; if(dx2*dx2+dy2*dy2<1){ r=230; g=220; b=90+60*dx2; } const n=(rnd()-0.5)*grain; const o=(y*W+x)*3; nat[o]=Math.max(0,Math.min(255,r+n)); nat[o+1]=Math.max(0,Math.min(255,g+n)); nat[o+2]=Math.max(0,Math.min(255,b+n)); } return nat; }
async function t(name, fn, k=7){ await fn(); const ts=[]; let size=0; for(let i=0;i<k;i++){ const s=performance.now(); const out=await fn(); ts.push(performance.now()-s); size=out.length;} ts.sort((a,b)=>a-b); console.log(name.padEnd(34), 'min', ts[0].toFixed(1).padStart(6),'med', ts[k>>1].toFixed(1).padStart(6), (size/1024).toFixed(0).padStart(6),'KiB'); }
for (const [label, img] of [['noise', noise], ['grain6', natural(6)], ['grain1', natural(1)]]) {
  const s = () => sharp(img, { raw: { width: W, height: H, channels: 3 } });
  for (const [lvl, af] of [[2,true],[1,false],[2,false],[3,false]]) await t(`${label} png l${lvl} adaptive=${af}`, () => s().png({ compressionLevel: lvl, adaptiveFiltering: af, palette: false }).toBuffer());
  await t(`${label} webp q90 e0`, () => s().webp({ quality: 90, effort: 0, smartSubsample: false }).toBuffer());
  await t(`${label} jpeg q90`, () => s().jpeg({ quality: 90, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer());
}
