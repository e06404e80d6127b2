import { css } from 'lit';

/** The gallery of recent pictures with their actions, and "Try again" (studio-results.ts). */
export const resultStyles = css`
  /* Only the listener's box: no grid row (nor gap) of its own until a picture is in it. */
  .studio__gallery-host {
    display: contents;
  }

  /*
   * One row of fixed height however many pictures there are (more scroll inside it) and
   * whatever the actions' labels wrap to (the picture gives way): the studio's height is
   * known from its first render, placeholders and all, and the page reserves it before
   * definition (the README's has-recent rule). The scrollbar's gutter is held so the width is too.
   */
  .studio__tiles {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(10em, 1fr));
    grid-auto-rows: 17em;
    gap: 0.75rem;
    block-size: 17em;
    margin: 0;
    padding: 0;
    overflow-y: auto;
    scrollbar-gutter: stable;
    list-style: none;
  }

  .studio__tile {
    display: grid;
    grid-template-rows: minmax(0, 1fr) auto;
    gap: 0.4rem;
    min-width: 0;
    min-height: 0;
  }

  .studio__tile img,
  .studio__tile--loading {
    width: 100%;
    height: 100%;
    min-height: 0;
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
