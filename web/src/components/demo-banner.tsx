// Says plainly that answers come from the offline demo model, not a real LLM.
export function DemoBanner({ model }: { model?: string }) {
  return (
    <div className="demo-banner" role="note" data-testid="demo-banner" title={model ? `Model: ${model}` : undefined}>
      <span aria-hidden="true">⚠</span> Offline demo model — set OPEN_ROUTER_API_KEY to use a real model
    </div>
  );
}
