/**
 * SDXL's trained resolutions (the list Fooocus offers), as `"<width>x<height>"`.
 * Anything else produces visibly worse images, so the API accepts only these.
 */
export const SDXL_ASPECT_RATIOS = [
  '704x1408', '704x1344', '768x1344', '768x1280', '832x1216', '832x1152', '896x1152',
  '896x1088', '960x1088', '960x1024', '1024x1024', '1024x960', '1088x960', '1088x896',
  '1152x896', '1152x832', '1216x832', '1280x768', '1344x768', '1344x704', '1408x704',
  '1472x704', '1536x640', '1600x640', '1664x576', '1728x576',
] as const;

export const DEFAULT_ASPECT_RATIO = '1024x1024';

export function parseAspectRatio(value: string): { width: number; height: number } | undefined {
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]) };
}
