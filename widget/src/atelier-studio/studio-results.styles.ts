import { css } from 'lit';

/** The gallery of recent pictures with their actions, and "Try again" (studio-results.ts). */
export const resultStyles = css`
  /* Only the listener's box: no grid row (nor gap) of its own until a picture is in it. */
  .studio__gallery-host {
    display: contents;
  }

  .studio__tiles {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr));
    gap: 0.75rem;
    margin: 0.75rem 0 0;
    padding: 0;
    list-style: none;
  }

  .studio__tile {
    display: grid;
    gap: 0.4rem;
    align-content: start;
    min-width: 0;
  }

  .studio__tile img,
  .studio__tile--loading {
    width: 100%;
    height: auto;
    aspect-ratio: 1;
    object-fit: cover;
    border-radius: calc(var(--_radius) * 0.66);
    background: var(--_surface);
  }

  .studio__actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.3rem;
  }

  .studio__action,
  .studio__retry {
    padding: 0.3rem 0.55rem;
    font: inherit;
    font-size: 0.8rem;
    color: var(--_text);
    text-decoration: none;
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.5);
    cursor: pointer;
  }

  .studio__action[aria-pressed='true'] {
    border-color: var(--_accent);
    box-shadow: inset 0 0 0 1px var(--_accent);
  }

  .studio__action[aria-disabled='true'] {
    opacity: 0.6;
    cursor: progress;
  }

  .studio__action:focus-visible,
  .studio__retry:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
`;
